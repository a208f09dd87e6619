"""Exports: the events of a period (one row per event, with its ticket) as XLSX and CSV.

The columns are documented in docs/exports.md; ``EVENT_COLUMNS`` and ``TICKET_COLUMNS`` are the
single source of the header names. Times are local to the desk's zone, without a zone suffix.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.dispatch import sla as sla_due
from bot.reports import sla, sqlx
from bot.reports.dutylog import ToStaff, engineer_expr
from bot.reports.periods import Period
from bot.reports.xlsx import workbook
from bot.tickets import attachments
from storage.models import Staff, Ticket, TicketEvent

EVENT_COLUMNS = (
    "event_id", "event_time", "event_kind", "actor_kind", "actor", "engineer", "ticket_number",
    "ticket_created", "ticket_status", "category", "severity", "complaint", "customer", "equipment",
    "from_status", "to_status", "contact_kind", "minutes", "work_done", "result", "ack_delay_min",
    "escalation_level", "rating", "score", "note", "files",
)
TICKET_COLUMNS = (
    "ticket_number", "created", "customer", "category", "severity", "status", "complaint", "assignee",
    "first_response_due", "first_response_at", "first_response_min", "first_response_met",
    "onsite_due", "first_onsite_at", "onsite_met", "fix_due", "resolved_at", "fix_met",
    "acknowledged_at", "closed_at", "rating", "paused_min",
)

Actor = aliased(Staff, name="actor_staff")
Engineer = aliased(Staff, name="engineer_staff")


@dataclass
class ExportData:
    """Rows ready to write: events, and the tickets created in the period."""

    period: Period
    events: list[tuple[Any, ...]]
    tickets: list[tuple[Any, ...]]


def _local(value: dt.datetime | None, tz: dt.tzinfo) -> dt.datetime | None:
    return value.astimezone(tz).replace(tzinfo=None, microsecond=0) if value is not None else None


def _note(kind: str, data_kind: str | None, summary: str | None, reason: str | None, text: str | None) -> str | None:
    if kind == "sla_breach":
        return data_kind  # which promise was missed
    return summary or reason or text or None


def _files(data: Any) -> str | None:
    """The files an event carries (a relayed message, a customer's addition): ``kind:file id``, one
    per line (Telegram's ids: the bot never downloads a file)."""
    raw = data.get("attachments") if isinstance(data, dict) else None
    items = attachments.parse(raw if isinstance(raw, list) else None)
    return "\n".join(f"{a.kind}:{a.file_id}" for a in items) or None


async def export_data(
    session: AsyncSession, period: Period, tz: dt.tzinfo, now: dt.datetime | None = None
) -> ExportData:
    """Events in ``period`` (by event time) with their tickets; tickets created in ``period``.

    ``now`` decides which SLA promises are already broken (default: the real time)."""
    now = now or dt.datetime.now(dt.UTC)
    start, end = period.bounds(tz)
    eng = engineer_expr().label("eng")
    j = sqlx.json_text
    stmt = (
        select(
            TicketEvent.id, TicketEvent.at, TicketEvent.kind, TicketEvent.actor_kind, Actor.name,
            TicketEvent.actor_id, eng, Ticket.number, Ticket.created_at, Ticket.status, Ticket.category,
            Ticket.severity, Ticket.complaint, Ticket.customer_label, Ticket.equipment_label,
            TicketEvent.from_status, TicketEvent.to_status, j("kind"), TicketEvent.minutes, j("done"),
            j("result"), sqlx.json_int("delay_s"), j("level"), j("rating"), sqlx.json_int("score"),
            j("summary"), j("reason"), j("text"), TicketEvent.data,
        )
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .outerjoin(ToStaff, ToStaff.key == j("to"))
        .outerjoin(Actor, (TicketEvent.actor_kind == "staff") & (Actor.id == TicketEvent.actor_id))
        .where(TicketEvent.at >= start, TicketEvent.at < end)
        .order_by(TicketEvent.at, TicketEvent.id)
    )
    names = {s.id: s.name for s in (await sqlx.staff_names(session)).values()}
    events = []
    for r in (await session.execute(stmt)).all():
        actor = r[4] if r[3] == "staff" else (str(r[5]) if r[5] is not None else r[3])
        is_contact = r[2] == "contact"
        events.append((
            r[0], _local(r[1], tz), r[2], r[3], actor, names.get(r[6]) if r[6] is not None else None,
            r[7], _local(r[8], tz), r[9], r[10], r[11], "yes" if r[12] else "no", r[13], r[14],
            r[15], r[16], r[17] if is_contact else None, r[18], r[19], r[20],
            None if r[21] is None else round(r[21] / 60, 1), r[22], r[23], r[24], _note(r[2], r[17], r[25], r[26], r[27]),
            _files(r[28]),
        ))
    return ExportData(period, events, await _tickets(session, period, tz, now))


def _met(decided: Any, kept: Any) -> str | None:
    return ("yes" if kept else "no") if decided else None


async def _tickets(session: AsyncSession, period: Period, tz: dt.tzinfo, now: dt.datetime) -> list[tuple[Any, ...]]:
    start, end = period.bounds(tz)
    where = (Ticket.created_at >= start) & (Ticket.created_at < end)
    sub = sla.firsts(where)
    first, onsite, fix = sla.promises(sub, now)
    responded = sla.response_at(sub)
    minutes = sqlx.minutes_between(responded, Ticket.created_at, sqlx.dialect(session))
    stmt = (
        select(Ticket, Engineer.name, responded, minutes, sub.c.first_onsite,
               first.decided, first.kept, onsite.decided, onsite.kept, fix.decided, fix.kept)
        .select_from(Ticket.__table__.outerjoin(sub, sub.c.ticket_id == Ticket.id))
        .outerjoin(Engineer, Engineer.id == Ticket.assignee_id)
        .where(where)
        .order_by(Ticket.created_at, Ticket.id)
    )
    out = []
    for t, name, resp, mins, site, *flags in (await session.execute(stmt)).all():
        out.append((
            t.number, _local(t.created_at, tz), t.customer_label, t.category, t.severity, t.status,
            "yes" if t.complaint else "no", name,
            _local(t.first_response_due, tz), _local(_aware(resp), tz), None if mins is None else round(float(mins), 1),
            _met(flags[0], flags[1]),
            _local(t.onsite_due, tz), _local(_aware(site), tz), _met(flags[2], flags[3]),
            _local(t.fix_due, tz), _local(t.resolved_at, tz), _met(flags[4], flags[5]),
            _local(t.acknowledged_at, tz), _local(t.closed_at, tz), t.rating,
            round(sla_due.paused_total(t, now).total_seconds() / 60),
        ))
    return out


def _aware(value: Any) -> dt.datetime | None:
    """A time from a subquery or CASE (SQLite gives text or a naive UTC datetime)."""
    if value is None:
        return None
    when: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def to_xlsx(data: ExportData) -> bytes:
    """The workbook: sheet ``events`` (one row per event) and sheet ``tickets``."""

    return workbook([("events", EVENT_COLUMNS, data.events), ("tickets", TICKET_COLUMNS, data.tickets)])


def to_csv(data: ExportData) -> bytes:
    """The events as CSV (UTF-8 with BOM so spreadsheet programs read Chinese text correctly)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EVENT_COLUMNS)
    writer.writerows(
        tuple(v.isoformat(sep=" ") if isinstance(v, dt.datetime) else no_formula(v) for v in row)
        for row in data.events
    )
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def no_formula(value: Any) -> Any:
    """Typed text that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a ' in front."""
    return f"'{value}" if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
