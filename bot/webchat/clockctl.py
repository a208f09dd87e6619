"""The page's clock buttons: pure functions computing how far to move the desk clock.

Every jump goes forward (never back), so timers already fired stay fired and the ones not yet due
come due in order.
"""

from __future__ import annotations

import datetime as dt

ACTIONS = ("advance15", "jump2231", "nextday")


def next_time_of_day(now: dt.datetime, hour: int, minute: int) -> dt.datetime:
    """The next moment (strictly after ``now``) whose wall-clock time is hour:minute."""
    target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= now:
        target = (now + dt.timedelta(days=1)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return target


def target_for(action: str, now: dt.datetime) -> dt.datetime:
    """Where ``action`` moves a clock that reads ``now``; ValueError for an unknown action."""
    if action == "advance15":
        return now + dt.timedelta(minutes=15)
    if action == "jump2231":
        return next_time_of_day(now, 22, 31)
    if action == "nextday":
        tomorrow = now.date() + dt.timedelta(days=1)
        return dt.datetime.combine(tomorrow, dt.time(9, 0), tzinfo=now.tzinfo)
    raise ValueError(f"unknown clock action {action!r}; use one of {', '.join(ACTIONS)}")
