"""Thin Telegram adapters: read the update, call the domain, render a template."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers import common
from handlers.flows import route_message


def register_all(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add every handler, most specific first."""
    app.add_handler(CommandHandler("start", common.start))
    app.add_handler(CommandHandler("help", common.help_command))
    app.add_handler(CommandHandler("lang", common.lang_command))
    app.add_handler(CallbackQueryHandler(common.lang_button, pattern=r"^lang:"))
    app.add_handler(MessageHandler(filters.COMMAND, common.unknown_command))
    app.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & (filters.TEXT | filters.CONTACT | filters.PHOTO), route_message)
    )
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, common.edited))
    app.add_handler(MessageHandler(filters.ALL, common.unsupported))
    app.add_handler(CallbackQueryHandler(common.stale_button))
