"""The desk: everything a handler or domain function may need besides the update.

Reachable as ``bot_data['desk']`` in handlers and passed as ``desk`` to the domain and to timer
handlers. Built by ``bot/app.py``; the command line loads the same policy and roster with
``load_desk_policy`` and ``load_desk_roster``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from bot.config import Settings
from bot.core.clock import Clock
from bot.roster import DEFAULT_ROSTER, load_roster
from bot.roster.model import Roster
from bot.rules.policy import Policy, load_policy
from storage.db import Database


@dataclass
class Desk:
    """The desk's settings, database, clock, policy and roster.

    ``extras`` holds what the runtime attaches (``flood``: the guard's flood limiter,
    ``metrics``: the webhook's metrics); it is to become typed fields.
    """

    settings: Settings
    db: Database
    clock: Clock
    policy: Policy
    roster: Roster
    extras: dict[str, Any] = field(default_factory=dict)

    def now(self) -> dt.datetime:
        """The desk's current time (injectable clock)."""
        return self.clock.now()


def load_desk_policy(settings: Settings) -> Policy:
    """The policy file (the built-in default unless POLICY_FILE is set)."""
    return load_policy(settings.policy_file)


def load_desk_roster(settings: Settings) -> Roster:
    """The roster file (the built-in demo roster unless ROSTER_FILE is set)."""
    return load_roster(settings.roster_file or DEFAULT_ROSTER)
