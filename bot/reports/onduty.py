"""Who the roster had on duty on a day (file roster plus the covers and swaps stored then)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.roster.duty import calendar_table
from bot.roster.model import Override, Roster
from storage.models import RosterOverride


@dataclass(frozen=True)
class DutySpan:
    """One member's stretch of duty in a layer."""

    layer: str
    member: str
    start: dt.datetime
    end: dt.datetime
    covers: str | None = None


async def on_duty_day(session: AsyncSession, roster: Roster | None, day: dt.date, tz: dt.tzinfo) -> list[DutySpan]:
    """Every duty stretch of ``day`` (local), in time order; [] without a roster."""
    if roster is None:
        return []

    start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    end = start + dt.timedelta(days=1)
    rows = (await session.execute(
        select(RosterOverride.member, RosterOverride.covers, RosterOverride.starts_at, RosterOverride.ends_at)
        .where(RosterOverride.status == "active", RosterOverride.starts_at < end, RosterOverride.ends_at > start)
    )).all()
    if rows:
        extra = tuple(Override(member=m, covers=c, start=a, end=b) for m, c, a, b in rows)
        roster = dataclasses.replace(roster, overrides=roster.overrides + extra)
    (row,) = calendar_table(roster, day, day)
    spans = [
        DutySpan(a.layer, a.member, a.start, a.end, a.covers)
        for assignments in row.assignments.values() for a in assignments
    ]
    return sorted(spans, key=lambda s: (s.start, s.layer))
