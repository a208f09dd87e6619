"""Injectable clock: every piece of the bot asks this for "now", so tests and demos can move time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


class Clock:
    """Wall clock in a fixed time zone, with an adjustable offset for tests and demos."""

    def __init__(self, tz: str = "Asia/Shanghai", offset: dt.timedelta | None = None) -> None:
        self.tz = ZoneInfo(tz)
        self.offset = offset or dt.timedelta()

    def now(self) -> dt.datetime:
        """Current aware datetime in the configured zone (offset applied)."""
        return dt.datetime.now(self.tz) + self.offset

    def advance(self, delta: dt.timedelta) -> None:
        """Move the clock forward (or back, with a negative delta)."""
        self.offset += delta

    def set(self, when: dt.datetime) -> None:
        """Jump so that now() returns roughly ``when``."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=self.tz)
        self.offset = when - dt.datetime.now(self.tz)
