"""``sdbot import customers`` and ``sdbot export customers`` (placeholder)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add the registry commands to the ``sdbot`` parser."""
