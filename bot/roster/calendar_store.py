"""Make-up working days (调休) and extra days off that admins enter, stored in ``calendar_days``.

Written by ``/calendar`` and ``sdbot calendar``; read by every roster decision through
``StoredCalendar``, a per-process cache keyed by the table's version (row count and newest id of
the append-only log), so a change committed by any process is in force at the next decision and
an unchanged table costs one index-only query.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.roster.calendar import day_info
from bot.roster.model import CalendarOverrides, Holiday
from storage.models import CalendarDay

Kind = Literal["workday", "holiday"]
MAX_RANGE_DAYS = 31
NAME_MAX = 64
KIND_WORDS: dict[str, Kind] = {
    "workday": "workday", "work": "workday", "上班": "workday", "调休": "workday",
    "off": "holiday", "holiday": "holiday", "休息": "holiday", "放假": "holiday",
}


class CalendarInputError(ValueError):
    """Input that changes nothing; ``reason`` names the template block, ``params`` fill it."""

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__(f"{reason}: {params}")
        self.reason = reason
        self.params: dict[str, Any] = params  # a template context (Jinja2 renders any value)


# --- parsing ---------------------------------------------------------------------------------


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise CalendarInputError("bad_date", text=text) from None


def parse_days(text: str) -> list[dt.date]:
    """``2027-02-20`` or ``2027-02-09..2027-02-11`` (inclusive) → the dates."""
    first, sep, last = text.partition("..")
    start = _date(first)
    end = _date(last) if sep else start
    if end < start:
        raise CalendarInputError("bad_range", text=text)
    count = (end - start).days + 1
    if count > MAX_RANGE_DAYS:
        raise CalendarInputError("too_long", text=text, days=MAX_RANGE_DAYS)
    return [start + dt.timedelta(days=i) for i in range(count)]


def parse_kind(text: str) -> Kind:
    """``workday``/``off`` (and their aliases) → ``workday``/``holiday``."""
    kind = KIND_WORDS.get(text.strip().lower())
    if kind is None:
        raise CalendarInputError("bad_kind", text=text)
    return kind


def _check_window(days: list[dt.date], today: dt.date) -> None:
    """Only from today to the end of next year: the past is history, far years are typos."""
    if days[0] < today:
        raise CalendarInputError("past", day=days[0], today=today)
    if days[-1].year > today.year + 1:
        raise CalendarInputError("too_far", day=days[-1], year=today.year + 1)


# --- reading ---------------------------------------------------------------------------------


async def stored_days(session: AsyncSession) -> dict[dt.date, CalendarDay]:
    """The entries in force: the newest row per day, ``removed`` ones left out."""
    rows = await session.scalars(select(CalendarDay).order_by(CalendarDay.id))
    latest = {row.day: row for row in rows.all()}
    return {day: row for day, row in sorted(latest.items()) if row.kind != "removed"}


def as_table(rows: dict[dt.date, CalendarDay]) -> CalendarOverrides:
    """Stored entries as a local calendar table."""
    def entries(kind: str) -> tuple[Holiday, ...]:
        return tuple(Holiday(r.day, r.name, "stored") for r in rows.values() if r.kind == kind)

    return CalendarOverrides(entries("workday"), entries("holiday"))


def merge(file_table: CalendarOverrides, stored: CalendarOverrides) -> CalendarOverrides:
    """The roster file's table with the stored entries on top (a stored day replaces a file day)."""
    if not stored.workdays and not stored.holidays:
        return file_table
    taken = set(stored.by_date)

    def keep(entries: tuple[Holiday, ...]) -> tuple[Holiday, ...]:
        return tuple(e for e in entries if e.date not in taken)

    return CalendarOverrides((*keep(file_table.workdays), *stored.workdays),
                             (*keep(file_table.holidays), *stored.holidays))


@dataclass
class StoredCalendar:
    """Per-process cache of the stored table merged over the roster file's, reloaded only when
    a writer (this process or another) has committed a change."""

    version: tuple[int, int] | None = None
    file_table: CalendarOverrides | None = None
    table: CalendarOverrides = dataclasses.field(default_factory=CalendarOverrides)

    async def merged(self, session: AsyncSession, file_table: CalendarOverrides) -> CalendarOverrides:
        """``file_table`` with the stored entries on top, as of this session's snapshot."""
        count, newest = (await session.execute(
            select(func.count(CalendarDay.id), func.max(CalendarDay.id)))).one()
        version = (int(count), int(newest or 0))
        if version != self.version or file_table is not self.file_table:
            self.table = merge(file_table, as_table(await stored_days(session)))
            self.version, self.file_table = version, file_table
        return self.table


# --- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """What ``add_days``/``remove_days`` did: the days changed, the ones left as they were, and
    the name stored (whitespace tidied)."""

    changed: list[dt.date]
    unchanged: list[dt.date]
    name: str = ""


async def add_days(
    session: AsyncSession, file_table: CalendarOverrides, days: list[dt.date], kind: Kind, name: str,
    *, today: dt.date, now: dt.datetime, by: str,
) -> Change:
    """Make ``days`` working days or days off from now on; days already so are left alone.

    Raises ``CalendarInputError`` (nothing stored) for past or far dates, an over-long name, or
    when every day already is of that kind.
    """
    _check_window(days, today)
    name = " ".join(name.split())
    if len(name) > NAME_MAX:
        raise CalendarInputError("name_too_long", chars=NAME_MAX)
    table = merge(file_table, as_table(await stored_days(session)))
    wanted = kind == "workday"
    changed = [d for d in days if day_info(d, table).is_workday != wanted]
    if not changed:
        raise CalendarInputError("no_change", day=days[0], kind=kind, count=len(days))
    for day in changed:
        session.add(CalendarDay(day=day, kind=kind, name=name, created_at=now, created_by=by))
    await session.flush()
    return Change(changed, [d for d in days if d not in changed], name)


async def remove_days(
    session: AsyncSession, days: list[dt.date], *, today: dt.date, now: dt.datetime, by: str,
) -> Change:
    """Withdraw the stored entries of ``days`` (they follow the official or computed calendar)."""
    _check_window(days, today)
    current = await stored_days(session)
    changed = [d for d in days if d in current]
    if not changed:
        raise CalendarInputError("not_stored", day=days[0], count=len(days))
    for day in changed:
        session.add(CalendarDay(day=day, kind="removed", name="", created_at=now, created_by=by))
    await session.flush()
    return Change(changed, [d for d in days if d not in changed])
