"""The desk: everything a handler or domain function may need besides the update.

Reachable as ``context.desk`` in handlers (``handlers.base.DeskContext``) and passed as ``desk``
to the domain and to timer handlers. Built by ``bot/app.py``; the command line loads the same policy and roster with
``load_desk_policy`` and ``load_desk_roster``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from bot.config import Settings
from bot.core.clock import Clock
from bot.core.ratelimit import FloodLimiter
from bot.roster import DEFAULT_ROSTER, load_roster
from bot.roster.calendar_store import StoredCalendar
from bot.roster.model import Roster
from bot.rules.policy import Policy, load_policy
from storage.db import Database


class Counter(Protocol):
    """A monotonic counter (a ``prometheus_client.Counter``)."""

    def inc(self, amount: float = 1) -> None:
        """Add ``amount``."""


class DeskMetrics(Protocol):
    """What of the runtime's metrics the desk counts into (``bot/runtime/metrics.py``)."""

    @property
    def rate_limited(self) -> Counter:
        """Messages dropped by the per-user flood limit."""


@dataclass
class Desk:
    """The desk's settings, database, clock, policy and roster; the flood limiter (per instance);
    the metrics when the webhook serves them (None otherwise); the cache of the calendar days
    admins entered (``bot.roster.calendar_store``)."""

    settings: Settings
    db: Database
    clock: Clock
    policy: Policy
    roster: Roster
    flood: FloodLimiter = field(init=False)
    metrics: DeskMetrics | None = None
    stored_calendar: StoredCalendar = field(default_factory=StoredCalendar)  # entered days, cached

    def __post_init__(self) -> None:
        self.flood = FloodLimiter(self.settings.flood_max_messages, self.settings.flood_window_seconds)

    def now(self) -> dt.datetime:
        """The desk's current time (injectable clock)."""
        return self.clock.now()


def load_desk_policy(settings: Settings) -> Policy:
    """The policy file (the built-in default unless POLICY_FILE is set)."""
    return load_policy(settings.policy_file)


def load_desk_roster(settings: Settings, policy: Policy | None = None) -> Roster:
    """The roster file (the built-in demo roster unless ROSTER_FILE is set); its layers'
    categories are checked against ``policy`` (the desk's policy file when None)."""
    policy = policy or load_desk_policy(settings)
    return load_roster(settings.roster_file or DEFAULT_ROSTER, policy.dispatch.categories)
