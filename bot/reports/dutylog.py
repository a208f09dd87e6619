"""The duty log: who did what on which tickets, by day and engineer, with SQL-computed totals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from bot.reports import sqlx
from bot.reports.periods import Period
from storage.models import Staff, Ticket, TicketEvent

LOG_KINDS = (
    "dispatched", "reminder", "acknowledged", "contact", "handover", "escalated", "sla_breach", "resolved",
)

ToStaff = aliased(Staff, name="to_staff")


def engineer_expr() -> ColumnElement[Any]:
    """The staff id an event belongs to: its staff actor, else the engineer it was sent ``to``."""
    return case(
        (TicketEvent.actor_kind == "staff", TicketEvent.actor_id), else_=ToStaff.id
    )


def _joined(stmt: Any) -> Any:
    return stmt.join(Ticket, Ticket.id == TicketEvent.ticket_id).outerjoin(
        ToStaff, ToStaff.key == sqlx.json_text("to")
    )


@dataclass
class Entry:
    """One line of the log."""

    at: dt.datetime
    kind: str
    number: str
    customer: str
    engineer_id: int | None
    minutes: int | None = None
    contact_kind: str | None = None
    result: str | None = None
    done: str | None = None
    delay_min: int | None = None
    level: str | None = None
    summary: str | None = None
    reason: str | None = None
    rating: str | None = None
    score: int | None = None
    text: str | None = None


@dataclass
class Totals:
    """Totals of one engineer on one day (or overall)."""

    tickets: int = 0
    contacts: int = 0
    minutes: int = 0
    after_hours_contacts: int = 0
    after_hours_minutes: int = 0
    acks: int = 0
    dispatches: int = 0
    escalations: int = 0
    resolved: int = 0
    events: int = 0  # lines of the log

    def add(self, other: Totals) -> None:
        """Accumulate ``other`` (tickets are summed per group, see DutyLog.totals)."""
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Group:
    """One engineer's entries on one day."""

    day: dt.date
    engineer_id: int | None
    entries: list[Entry] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)


@dataclass
class DutyLog:
    """The log of a period, grouped by day then engineer."""

    period: Period
    groups: list[Group]
    totals: Totals
    detailed: bool = True  # False: too many lines, only the totals were read

    def days(self) -> list[dt.date]:
        """Days that have entries, in order."""
        return sorted({g.day for g in self.groups})


async def duty_log(
    session: AsyncSession,
    period: Period,
    tz: dt.tzinfo,
    *,
    staff_id: int | None = None,
    is_workday: Callable[[dt.date], bool] = lambda d: d.weekday() < 5,
    office: tuple[int, int] = (9 * 60, 18 * 60),
    detail_limit: int | None = None,
) -> DutyLog:
    """Entries and totals of ``period`` (local days in ``tz``), optionally of one staff member.

    With more than ``detail_limit`` lines only the totals are read (``detailed`` is False)."""
    start, end = period.bounds(tz)
    eng = engineer_expr().label("eng")
    where = [TicketEvent.at >= start, TicketEvent.at < end, TicketEvent.kind.in_(LOG_KINDS)]
    if staff_id is not None:
        where.append(eng == staff_id)
    totals = await _totals(session, where, eng, sqlx.offset_minutes(tz, start), is_workday, office)
    lines = sum(t.events for t in totals.values())
    detailed = detail_limit is None or lines <= detail_limit
    entries = await _entries(session, where, eng, tz) if detailed else []
    groups: dict[tuple[dt.date, int | None], Group] = {}
    for e in entries:
        key = (e.at.date(), e.engineer_id)
        groups.setdefault(key, Group(*key)).entries.append(e)
    for key, tot in totals.items():
        groups.setdefault(key, Group(*key)).totals = tot
    overall = Totals()
    for tot in totals.values():
        overall.add(tot)
    overall.tickets = await _distinct_tickets(session, where, eng)
    ordered = sorted(groups.values(), key=lambda g: (g.day, g.engineer_id is None, g.engineer_id or 0))
    return DutyLog(period, ordered, overall, detailed)


async def _entries(session: AsyncSession, where: list[Any], eng: Any, tz: dt.tzinfo) -> list[Entry]:
    stmt = _joined(
        select(
            TicketEvent.at, TicketEvent.kind, Ticket.number, Ticket.customer_label, eng,
            TicketEvent.minutes, sqlx.json_text("kind"), sqlx.json_text("result"), sqlx.json_text("done"),
            sqlx.json_int("delay_s"), sqlx.json_text("level"), sqlx.json_text("summary"),
            sqlx.json_text("reason"),
        )
    ).where(*where).order_by(TicketEvent.at, TicketEvent.id)
    rows = (await session.execute(stmt)).all()
    return [
        Entry(
            at=r[0].astimezone(tz), kind=r[1], number=r[2], customer=r[3], engineer_id=r[4],
            minutes=r[5], contact_kind=r[6], result=r[7], done=r[8],
            delay_min=None if r[9] is None else int(r[9]) // 60, level=r[10], summary=r[11], reason=r[12],
        )
        for r in rows
    ]


def _count_kind(kind: str) -> ColumnElement[Any]:
    return func.sum(case((TicketEvent.kind == kind, 1), else_=0))


async def _totals(
    session: AsyncSession, where: list[Any], eng: Any, offset: int,
    is_workday: Callable[[dt.date], bool], office: tuple[int, int],
) -> dict[tuple[dt.date, int | None], Totals]:
    dia = sqlx.dialect(session)
    day = sqlx.local_day(TicketEvent.at, dia, offset).label("day")  # grouped by label (PostgreSQL)
    minute = sqlx.local_minute(TicketEvent.at, dia, offset)
    contact = TicketEvent.kind == "contact"
    outside = and_(contact, (minute < office[0]) | (minute >= office[1]))
    stmt = _joined(
        select(
            day, eng,
            func.count(distinct(TicketEvent.ticket_id)),
            _count_kind("contact"),
            func.sum(case((contact, func.coalesce(TicketEvent.minutes, 0)), else_=0)),
            func.sum(case((outside, 1), else_=0)),
            func.sum(case((outside, func.coalesce(TicketEvent.minutes, 0)), else_=0)),
            _count_kind("acknowledged"), _count_kind("dispatched"), _count_kind("escalated"),
            _count_kind("resolved"), func.count(),
        )
    ).where(*where).group_by(day, eng)
    out: dict[tuple[dt.date, int | None], Totals] = {}
    for r in (await session.execute(stmt)).all():
        d = dt.date.fromisoformat(r[0])
        t = Totals(*(int(v or 0) for v in r[2:]))
        t.after_hours_contacts, t.after_hours_minutes = int(r[5] or 0), int(r[6] or 0)
        if not is_workday(d):
            t.after_hours_contacts, t.after_hours_minutes = t.contacts, t.minutes
        out[(d, r[1])] = t
    return out


async def _distinct_tickets(session: AsyncSession, where: list[Any], eng: Any) -> int:
    stmt = _joined(select(func.count(distinct(TicketEvent.ticket_id)))).where(*where)
    return int(await session.scalar(stmt) or 0)


def view(log: DutyLog, names: dict[int, str], is_workday: Callable[[dt.date], bool]) -> list[dict[str, Any]]:
    """The log as days → engineer groups, ready for the ``supervisor/log`` template."""
    days = []
    for d in log.days():
        groups = [
            {"name": names.get(g.engineer_id) if g.engineer_id is not None else None,
             "entries": g.entries, "totals": g.totals}
            for g in log.groups if g.day == d
        ]
        days.append({"date": d, "workday": is_workday(d), "groups": groups})
    return days
