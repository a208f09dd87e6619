"""A local fake of the Telegram Bot API, with a JSON control API to play the users."""

from bot.sandbox.server import SandboxServer, serve_forever

__all__ = ["SandboxServer", "serve_forever"]
