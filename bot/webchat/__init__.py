"""A Telegram-like chat page in the browser for the sandbox (``sdbot run`` without a token)."""

from bot.webchat.server import STAFF_GROUP_TITLE, WebChat, create_staff_group

__all__ = ["STAFF_GROUP_TITLE", "WebChat", "create_staff_group"]
