"""A bare python-telegram-bot echo bot: the yardstick of the load benchmark.

Long polling, 256 concurrent updates, no database, no rate limiter: every text is sent back.
Configured by the same environment as ``sdbot run`` (TELEGRAM_BOT_TOKEN, BOT_API_BASE_URL,
BOT_API_FILE_URL).

    python -m benchmarks.echo_bot
"""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the message's text back."""
    msg = update.effective_message
    if msg is not None:
        await msg.reply_text(msg.text or "echo")


def main() -> None:
    """Poll until interrupted."""
    app = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["BOT_API_BASE_URL"])
        .base_file_url(os.environ["BOT_API_FILE_URL"])
        .concurrent_updates(256)
        .connection_pool_size(64)
        .pool_timeout(10)
        .build()
    )
    app.add_handler(MessageHandler(filters.ALL, echo))
    app.run_polling(poll_interval=0, timeout=10, allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
