"""Tickets: the life cycle, readable numbers and the event trail. No Telegram in here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Ticket, TicketCounter, TicketEvent
from storage.repo import dialect_insert

_COUNTERS = cast(Table, TicketCounter.__table__)

STATES = (
    "new",
    "dispatched",
    "acknowledged",
    "in_progress",
    "resolved",
    "closed",
    "reopened",
    "cancelled",
)
OPEN_STATES = frozenset({"new", "dispatched", "acknowledged", "in_progress", "reopened"})

TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"dispatched", "cancelled"}),
    "dispatched": frozenset({"dispatched", "acknowledged", "cancelled"}),
    "acknowledged": frozenset({"in_progress", "resolved", "dispatched"}),
    "in_progress": frozenset({"resolved", "dispatched"}),
    "resolved": frozenset({"closed", "reopened"}),
    "closed": frozenset({"reopened"}),
    "reopened": frozenset({"dispatched", "acknowledged", "in_progress", "resolved"}),
    "cancelled": frozenset(),
}
CUSTOMER_CANCELLABLE = frozenset({"new", "dispatched"})
# events that count as the customer hearing from an engineer (the SLA's first response): a recorded
# contact, or a message relayed to the customer through the bot (bot.tickets.relay)
RESPONSE_KINDS = ("contact", "relay_out")


class IllegalTransition(Exception):
    """The ticket cannot move to the requested state from where it is."""

    def __init__(self, number: str, current: str, wanted: str) -> None:
        super().__init__(f"ticket {number}: {current} → {wanted} is not allowed")
        self.current, self.wanted = current, wanted


@dataclass(frozen=True)
class Actor:
    """Who did something to a ticket."""

    kind: str  # customer|staff|system
    id: int | None = None


SYSTEM = Actor("system")


def format_number(year: int, seq: int) -> str:
    """``SD-2026-000123``."""
    return f"SD-{year}-{seq:06d}"


async def next_number(session: AsyncSession, year: int) -> str:
    """Allocate the next ticket number of ``year`` (inside the caller's transaction).

    One atomic upsert, so concurrent transactions on PostgreSQL (several instances, or several
    chats at once) never both create the year's counter row or read the same value.
    """
    stmt = (
        dialect_insert(session, _COUNTERS)
        .values(year=year, last=1)
        .on_conflict_do_update(index_elements=[_COUNTERS.c.year], set_={"last": _COUNTERS.c.last + 1})
        .returning(_COUNTERS.c.last)
    )
    seq = (await session.execute(stmt)).scalar_one()
    return format_number(year, seq)


def record(
    session: AsyncSession,
    ticket: Ticket,
    kind: str,
    actor: Actor,
    now: dt.datetime,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    minutes: int | None = None,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """Add an event to the ticket's trail."""
    event = TicketEvent(
        ticket_id=ticket.id,
        at=now,
        kind=kind,
        actor_kind=actor.kind,
        actor_id=actor.id,
        from_status=from_status,
        to_status=to_status,
        minutes=minutes,
        data=data or {},
    )
    session.add(event)
    session.info.setdefault(_RECORDED, []).append(event)
    return event


_RECORDED = "recorded_ticket_events"


def recorded(session: AsyncSession) -> list[TicketEvent]:
    """The events recorded in this session's transaction so far, in order (what the staff group's
    topics mirror at its end: bot/dispatch/topics.py)."""
    events = session.info.get(_RECORDED)
    return list(events) if isinstance(events, list) else []


def forget_recorded(session: AsyncSession) -> None:
    """Start a new list of recorded events (after they were mirrored)."""
    session.info.pop(_RECORDED, None)


def transition(
    session: AsyncSession,
    ticket: Ticket,
    to: str,
    actor: Actor,
    now: dt.datetime,
    *,
    kind: str | None = None,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """Move ``ticket`` to ``to`` or raise IllegalTransition; records the event."""
    current = ticket.status
    if to not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(ticket.number, current, to)
    ticket.status = to
    if to == "acknowledged" and ticket.acknowledged_at is None:
        ticket.acknowledged_at = now
    elif to == "resolved":
        ticket.resolved_at = now
    elif to in ("closed", "cancelled"):
        ticket.closed_at = now
    return record(
        session,
        ticket,
        kind or to,
        actor,
        now,
        from_status=current,
        to_status=to,
        data=data,
    )


def close_merged(session: AsyncSession, ticket: Ticket, into: Ticket, actor: Actor, now: dt.datetime) -> TicketEvent:
    """The dedicated close step of ``/merge`` (``TRANSITIONS`` has no open → closed): an open ticket
    ends ``closed`` with a ``merged`` event naming the ticket it continues in."""
    if ticket.status not in OPEN_STATES:
        raise IllegalTransition(ticket.number, ticket.status, "closed")
    current, ticket.status, ticket.closed_at = ticket.status, "closed", now
    return record(session, ticket, "merged", actor, now, from_status=current, to_status="closed",
                  data={"into": into.number, "text": into.number})


@dataclass
class NewTicket:
    """What intake collected."""

    reporter_user_id: int
    reporter_name: str
    customer_label: str
    customer_id: int | None = None
    verified: bool = False
    equipment_id: int | None = None
    equipment_label: str = ""
    category: str = "other"
    severity: str = "partial"
    symptom: str = ""
    photos: list[str] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)  # typed, photos included
    complaint: bool = False
    complaint_rule: str | None = None
    first_response_due: dt.datetime | None = None
    onsite_due: dt.datetime | None = None
    fix_due: dt.datetime | None = None


async def open_ticket(
    session: AsyncSession, new: NewTicket, now: dt.datetime, tz: dt.tzinfo
) -> Ticket:
    """Create a ticket in state ``new`` with its first event."""
    number = await next_number(session, now.astimezone(tz).year)
    ticket = Ticket(
        number=number,
        customer_id=new.customer_id,
        customer_label=new.customer_label,
        reporter_name=new.reporter_name,
        reporter_user_id=new.reporter_user_id,
        verified=new.verified,
        equipment_id=new.equipment_id,
        equipment_label=new.equipment_label,
        category=new.category,
        severity=new.severity,
        symptom=new.symptom,
        photos=list(new.photos),
        attachments=list(new.attachments),
        status="new",
        complaint=new.complaint,
        created_at=now,
        first_response_due=new.first_response_due,
        onsite_due=new.onsite_due,
        fix_due=new.fix_due,
    )
    session.add(ticket)
    await session.flush()
    record(session, ticket, "created", Actor("customer", new.reporter_user_id), now, to_status="new")
    if new.complaint:
        record(session, ticket, "complaint", SYSTEM, now, data={"reason": "complaint rule", "rule": new.complaint_rule})
    return ticket


async def customer_ticket(session: AsyncSession, number: str, user_id: int) -> Ticket | None:
    """A ticket by number, only if this Telegram user reported it (else None: "not found")."""
    return await session.scalar(
        select(Ticket).where(Ticket.number == number.strip().upper(), Ticket.reporter_user_id == user_id)
    )


async def customer_tickets(session: AsyncSession, user_id: int, limit: int = 20) -> list[Ticket]:
    """The newest tickets this Telegram user reported."""
    rows = await session.scalars(
        select(Ticket)
        .where(Ticket.reporter_user_id == user_id)
        .order_by(Ticket.id.desc())
        .limit(limit)
    )
    return list(rows.all())
