"""Service-desk bot: application assembly and the Telegram-free domain core."""

__version__ = "0.1.0"

import sys

# httpx, which python-telegram-bot imports (the bot itself sends through aiohttp), imports its
# command-line tool on import when click is installed (apprise brings it): click, and in a
# development install rich and pygments, ~3 MB resident that no code path uses. A None entry makes
# that one import fail, and httpx falls back to its own stub for the tool.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
