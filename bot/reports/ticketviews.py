"""Supervisor views of tickets: open, overdue (with how late), one ticket's history, complaints."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.reports import sqlx
from bot.reports.periods import Period
from bot.tickets.lifecycle import OPEN_STATES, RESPONSE_KINDS
from storage.models import Staff, Ticket, TicketEvent

LIST_LIMIT = 2000  # rows shown in a list (paginated); the count is always exact


@dataclass
class Row:
    """A ticket in a list."""

    number: str
    status: str
    category: str
    severity: str
    customer: str
    assignee: str | None
    created: dt.datetime
    complaint: bool
    late_by: dt.timedelta | None = None
    late_what: str | None = None
    late_due: dt.datetime | None = None  # the due time missed (local)
    rating: int | None = None


@dataclass
class Listing:
    """A list of tickets and how many there are in all."""

    rows: list[Row]
    total: int


def _row(t: Ticket, assignee: str | None, tz: dt.tzinfo) -> Row:
    return Row(
        number=t.number, status=t.status, category=t.category, severity=t.severity,
        customer=t.customer_label, assignee=assignee, created=t.created_at.astimezone(tz),
        complaint=t.complaint, rating=t.rating,
    )


async def open_tickets(session: AsyncSession, tz: dt.tzinfo) -> Listing:
    """Every ticket not yet resolved, oldest first."""
    cond = Ticket.status.in_(OPEN_STATES)
    total = await session.scalar(select(func.count()).select_from(Ticket).where(cond))
    stmt = (
        select(Ticket, Staff.name).outerjoin(Staff, Staff.id == Ticket.assignee_id)
        .where(cond).order_by(Ticket.created_at, Ticket.id).limit(LIST_LIMIT)
    )
    rows = [_row(t, name, tz) for t, name in (await session.execute(stmt)).all()]
    return Listing(rows, int(total or 0))


def _contacted(onsite: bool = False) -> Any:
    ev = aliased(TicketEvent)
    cond = [ev.ticket_id == Ticket.id, ev.kind == "contact" if onsite else ev.kind.in_(RESPONSE_KINDS)]
    if onsite:
        cond.append(ev.data["kind"].as_string() == "onsite")
    return exists().where(*cond)


def _passed(due: Any, now: dt.datetime) -> Any:
    """The due time has passed: before ``now``, or for a paused ticket before its pause (the
    clock stopped then). Two plain comparisons keep the column type's bind handling (SQLite)."""
    return ((Ticket.paused_at.is_(None) & (due < now))
            | (Ticket.paused_at.is_not(None) & (due < Ticket.paused_at)))


async def overdue_tickets(session: AsyncSession, now: dt.datetime, tz: dt.tzinfo) -> Listing:
    """Open tickets with a promise still pending past its due time (nobody contacted the customer,
    nobody on site, not fixed); each ticket once, by its longest delay; latest first. A paused
    ticket is late only for a due time that passed before its pause."""
    late_first = _passed(Ticket.first_response_due, now) & ~_contacted()
    late_onsite = _passed(Ticket.onsite_due, now) & ~_contacted(onsite=True)
    late_fix = _passed(Ticket.fix_due, now)
    cond = Ticket.status.in_(OPEN_STATES) & or_(late_first, late_onsite, late_fix)
    total = await session.scalar(select(func.count()).select_from(Ticket).where(cond))
    stmt = (
        select(Ticket, Staff.name, late_first, late_onsite)
        .outerjoin(Staff, Staff.id == Ticket.assignee_id)
        .where(cond).order_by(Ticket.created_at, Ticket.id).limit(LIST_LIMIT)
    )
    rows = []
    for t, name, first, onsite in (await session.execute(stmt)).all():
        row = _row(t, name, tz)
        passed = [("first_response", t.first_response_due) if first else None,
                  ("onsite", t.onsite_due) if onsite else None,
                  ("fix", t.fix_due) if t.fix_due is not None and t.fix_due < (t.paused_at or now) else None]
        what, due = min((p for p in passed if p is not None), key=lambda p: p[1])
        row.late_what, row.late_by, row.late_due = what, now - due, due.astimezone(tz)
        rows.append(row)
    rows.sort(key=lambda r: r.late_by or dt.timedelta(), reverse=True)
    return Listing(rows, int(total or 0))


async def complaints(session: AsyncSession, tz: dt.tzinfo, period: Period | None = None) -> Listing:
    """Complaint tickets (created in ``period`` if given, else every open one), newest first."""
    cond: Any = Ticket.complaint.is_(True)
    if period is None:
        cond = cond & Ticket.status.in_(OPEN_STATES)
    else:
        start, end = period.bounds(tz)
        cond = cond & (Ticket.created_at >= start) & (Ticket.created_at < end)
    total = await session.scalar(select(func.count()).select_from(Ticket).where(cond))
    stmt = (
        select(Ticket, Staff.name).outerjoin(Staff, Staff.id == Ticket.assignee_id)
        .where(cond).order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(LIST_LIMIT)
    )
    rows = [_row(t, name, tz) for t, name in (await session.execute(stmt)).all()]
    return Listing(rows, int(total or 0))


async def dissatisfied(session: AsyncSession, period: Period, tz: dt.tzinfo) -> list[tuple[str, str | None, dt.datetime]]:
    """Tickets rated "dissatisfied" in ``period``: (number, engineer, when)."""
    start, end = period.bounds(tz)
    stmt = (
        select(Ticket.number, Staff.name, TicketEvent.at)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .outerjoin(Staff, Staff.id == Ticket.assignee_id)
        .where(TicketEvent.kind == "closed", TicketEvent.at >= start, TicketEvent.at < end,
               sqlx.json_text("rating") == "dissatisfied")
        .order_by(TicketEvent.at.desc()).limit(LIST_LIMIT)
    )
    return [(n, s, at.astimezone(tz)) for n, s, at in (await session.execute(stmt)).all()]


@dataclass
class HistoryItem:
    """One event of a ticket's history, ready to show."""

    at: dt.datetime
    kind: str
    actor: str
    from_status: str | None
    to_status: str | None
    minutes: int | None
    data: dict[str, Any]


async def ticket_history(
    session: AsyncSession, number: str, tz: dt.tzinfo
) -> tuple[Ticket, str | None, list[HistoryItem]] | None:
    """Any ticket by number with its assignee's name and full event history; None if unknown."""
    ticket = await session.scalar(select(Ticket).where(Ticket.number == number.strip().upper()))
    if ticket is None:
        return None
    staff = await sqlx.staff_names(session)
    assignee = staff[ticket.assignee_id].name if ticket.assignee_id in staff else None
    events = (
        await session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
        )
    ).all()
    items = []
    for e in events:
        if e.actor_kind == "staff" and e.actor_id in staff:
            actor = staff[int(e.actor_id)].name
        else:
            actor = e.actor_kind
        items.append(HistoryItem(e.at.astimezone(tz), e.kind, actor, e.from_status, e.to_status,
                                 e.minutes, dict(e.data or {})))
    return ticket, assignee, items
