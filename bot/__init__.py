"""Service-desk bot: application assembly and the Telegram-free domain core."""

__version__ = "0.1.0"
