"""What every ``sdbot`` command shares: the settings, or one line on stderr and exit code 2."""

from __future__ import annotations

import sys

from bot.config import ConfigError, Settings, load_settings


def settings_or_exit() -> Settings:
    """The settings from the environment; a bad value stops the command with exit code 2."""
    try:
        return load_settings()
    except ConfigError as exc:
        print(f"sdbot: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
