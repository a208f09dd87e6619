"""``sdbot ask`` (placeholder until the answerer lands)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add ``sdbot ask`` to the parser."""
