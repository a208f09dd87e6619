"""A Telegram-like chat page in the browser for the sandbox (``sdbot run`` without a token)."""

from bot.webchat.server import WebChat

__all__ = ["WebChat"]
