"""Free-text questions → answers from the policy (placeholder until the answerer lands)."""

from __future__ import annotations

import datetime as dt
from typing import Any


def answer_in_flow(policy: Any, text: str, *, locale: str, today: dt.date) -> str | None:
    """The rendered answer when ``text`` is a policy question, else None (not a question)."""
    return None
