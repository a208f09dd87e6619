"""Duplicate reports (issue 14): does a new report belong to a ticket that is already open?

``decide`` looks at a completed report before a ticket is opened and answers one of:

- ``link``: the report names equipment that already has an open ticket of the same customer. It
  is linked to that ticket (``bot.tickets.links``): the reporter is told "already being handled as
  SD-…", hears what happens to it, and nothing is dispatched a second time.
- ``ask``: no equipment match, but an open ticket of the same customer (or of the same Telegram
  user) created within the policy window has a similar symptom: the reporter is asked "same
  problem?" first (same → link, different → a new ticket).
- ``flag``: a similar open ticket exists, but the reporter is not trusted to join it: the report
  becomes a ticket of its own, and its staff card says "possible duplicate of SD-…".

Trust: joining a ticket lets the reporter see it and hear about it, so a report is linked (or
asked about) only when the reporter is verified for the ticket's customer — equipment can only be
chosen after verification, and the ticket must be a verified ticket of that same customer — or is
the very Telegram user who reported the ticket. An unverified reporter who merely names a customer
never learns that customer's ticket numbers: they get a ticket of their own, flagged for the desk.

Similarity is the Jaccard index of the character bigrams of the normalised symptoms (case and
width folded, punctuation and spaces dropped): it works for Chinese, which has no word spaces, as
well as for English. Threshold and window are ``[duplicates]`` in the policy file. Pure decisions
on the database; no Telegram, no dispatch.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.rules.policy import Policy
from bot.tickets import lifecycle as tickets
from storage.models import Ticket

Kind = Literal["link", "ask", "flag"]
CANDIDATES = 50  # open tickets of one customer looked at, newest first


@dataclass(frozen=True)
class Duplicate:
    """A report that belongs (or may belong) to the open ticket ``number``."""

    kind: Kind
    ticket_id: int
    number: str


def normalise(text: str) -> str:
    """``text`` folded for comparing: NFKC, lower case, only letters and digits."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def _bigrams(text: str) -> set[str]:
    if len(text) < 2:
        return {text} if text else set()
    return {text[i:i + 2] for i in range(len(text) - 1)}


def similarity(a: str, b: str) -> float:
    """How alike two symptoms are, 0 (nothing in common, or one is empty) to 1 (the same)."""
    left, right = _bigrams(normalise(a)), _bigrams(normalise(b))
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def _trusted(ticket: Ticket, user_id: int, verified_for: int | None) -> bool:
    """Whether the reporter may join ``ticket`` (see the module docstring)."""
    if ticket.reporter_user_id == user_id:
        return True
    return verified_for is not None and ticket.verified and ticket.customer_id == verified_for


async def decide(
    session: AsyncSession, policy: Policy, user_id: int, data: dict[str, Any], now: dt.datetime
) -> Duplicate | None:
    """What to do with the completed report ``data`` of ``user_id``: None → open a ticket as usual."""
    if not policy.duplicates.enabled:
        return None
    customer_id = data.get("customer_id") if isinstance(data.get("customer_id"), int) else None
    verified_for = customer_id if data.get("verified") else None
    equipment_id = data.get("equipment_id") if verified_for is not None else None
    if isinstance(equipment_id, int):
        same = await session.scalar(
            select(Ticket).where(
                Ticket.equipment_id == equipment_id, Ticket.customer_id == verified_for, Ticket.verified.is_(True),
                Ticket.status.in_(tickets.OPEN_STATES),
            ).order_by(Ticket.id.desc()).limit(1)
        )
        if same is not None:
            return Duplicate("link", same.id, same.number)
    rules = policy.duplicates
    since = now - dt.timedelta(hours=rules.similar_within_hours)
    whose = Ticket.reporter_user_id == user_id
    if customer_id is not None:
        whose = whose | (Ticket.customer_id == customer_id)
    rows = await session.scalars(
        select(Ticket).where(whose, Ticket.status.in_(tickets.OPEN_STATES), Ticket.created_at >= since)
        .order_by(Ticket.id.desc()).limit(CANDIDATES)
    )
    symptom = str(data.get("symptom") or "")
    for ticket in rows:
        if similarity(symptom, ticket.symptom) >= rules.similarity:
            kind: Kind = "ask" if _trusted(ticket, user_id, verified_for) else "flag"
            return Duplicate(kind, ticket.id, ticket.number)
    return None
