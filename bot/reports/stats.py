"""Monthly statistics, all aggregated in SQL: states, categories, response times vs the policy,
SLA breaches, satisfaction per engineer (policy §5) and escalations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.reports import sla, sqlx
from bot.reports.periods import Period
from bot.rules.policy import Policy
from storage.models import Staff, Ticket, TicketEvent


@dataclass
class Times:
    """Median and 95th percentile (minutes) of a response time, and the promise it is held to."""

    count: int = 0
    median: float | None = None
    p95: float | None = None
    promise: dict[str, float] = field(default_factory=dict)  # label → minutes (from the policy)
    with_due: int = 0
    met: int = 0

    @property
    def compliance(self) -> float | None:
        """Share of tickets with a due time that met it (0..1)."""
        return self.met / self.with_due if self.with_due else None


@dataclass
class EngineerScore:
    """Satisfaction of one engineer's ratings in the period (policy §5)."""

    name: str
    ratings: int
    total: int
    average: float
    dissatisfied: int


@dataclass
class Stats:
    """Everything /stats shows."""

    period: Period
    created: int
    by_state: dict[str, int]
    by_category: dict[str, int]
    complaints: int
    first_response: Times
    onsite: Times
    breaches: dict[str, int]
    satisfaction: list[EngineerScore]
    escalations: dict[str, int]


def _in(period: Period, tz: dt.tzinfo) -> Any:
    start, end = period.bounds(tz)
    return (Ticket.created_at >= start) & (Ticket.created_at < end)


async def _grouped(session: AsyncSession, col: Any, where: Any) -> dict[str, int]:
    key, n = col.label("k"), func.count().label("n")  # grouped by label (PostgreSQL)
    rows = await session.execute(select(key, n).where(where).group_by(key).order_by(n.desc(), key))
    return {str(k): int(n) for k, n in rows.all()}


async def _times(session: AsyncSession, minutes: Any, where: Any, base: Any, promise: sla.Promise) -> Times:
    """Count, median and p95 of ``minutes`` (NULLs skipped); how many decided promises were kept."""
    count, decided, kept = (await session.execute(
        select(
            func.count(minutes),
            func.sum(case((promise.decided, 1), else_=0)),
            func.sum(case((promise.decided & promise.kept, 1), else_=0)),
        ).select_from(base).where(where)
    )).one()
    values = select(minutes.label("m")).select_from(base).where(where).subquery()
    return Times(
        count=int(count or 0),
        median=await sqlx.percentile(session, values, 0.5, int(count or 0)),
        p95=await sqlx.percentile(session, values, 0.95, int(count or 0)),
        with_due=int(decided or 0),
        met=int(kept or 0),
    )


async def _breaches(session: AsyncSession, where: Any, base: Any, promises: list[sla.Promise]) -> dict[str, int]:
    anything = or_(*(p.breached for p in promises))
    q = select(
        *(func.sum(case((p.breached, 1), else_=0)) for p in promises),
        func.sum(case((anything, 1), else_=0)),
    ).select_from(base).where(where)
    row = (await session.execute(q)).one()
    out = {p.name: int(v or 0) for p, v in zip(promises, row[:-1], strict=True)}
    out["tickets"] = int(row[-1] or 0)
    return out


async def _satisfaction(session: AsyncSession, period: Period, tz: dt.tzinfo) -> list[EngineerScore]:
    start, end = period.bounds(tz)
    score = sqlx.json_int("score")
    stmt = (
        select(
            Staff.name, func.count(score), func.sum(score), func.avg(score),
            func.sum(case((sqlx.json_text("rating") == "dissatisfied", 1), else_=0)),
        )
        .select_from(TicketEvent)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .outerjoin(Staff, Staff.id == Ticket.assignee_id)
        .where(TicketEvent.kind == "closed", TicketEvent.at >= start, TicketEvent.at < end, score.is_not(None))
        .group_by(Staff.name)
        .order_by(func.sum(score).desc())
    )
    return [
        EngineerScore(name or "—", int(n), int(total or 0), float(avg or 0), int(bad or 0))
        for name, n, total, avg, bad in (await session.execute(stmt)).all()
    ]


async def _escalations(session: AsyncSession, period: Period, tz: dt.tzinfo) -> dict[str, int]:
    start, end = period.bounds(tz)
    level = func.coalesce(sqlx.json_text("level"), "other")
    where = (TicketEvent.kind == "escalated") & (TicketEvent.at >= start) & (TicketEvent.at < end)
    return await _grouped(session, level, where)


def policy_promises(policy: Policy | None) -> dict[str, dict[str, float]]:
    """The SLA promises (minutes) stated in the policy file, for whatever it defines.

    Read tolerantly from ``policy.sla``. The report shows the operator's numbers, never a
    hard-coded one; absent values are left out.
    """
    sla = _get(policy, "sla")
    out: dict[str, dict[str, float]] = {"first_response": {}, "onsite": {}}
    if sla is None:
        return out
    first = _minutes(_get(sla, "first_response"), sla, "first_response")
    if first is not None:
        out["first_response"][""] = first
    onsite = _get(sla, "onsite")
    for zone in ("city", "suburb"):
        value = _minutes(_get(onsite, zone), onsite, zone) if onsite is not None else None
        if value is None:
            value = _minutes(None, sla, f"onsite_{zone}")
        if value is not None:
            out["onsite"][zone] = value
    return out


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _minutes(value: Any, parent: Any, name: str) -> float | None:
    """A duration in minutes from ``value`` (a section or number) or ``parent.<name>_hours|minutes``."""
    for holder, prefix in ((value, ""), (parent, f"{name}_")):
        if holder is None or isinstance(holder, int | float):
            continue
        for unit, factor in (("minutes", 1.0), ("hours", 60.0)):
            v = _get(holder, f"{prefix}{unit}")
            if isinstance(v, int | float) and not isinstance(v, bool):
                return float(v) * factor
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) * 60.0  # a bare number in the SLA table is hours
    return None


async def stats(
    session: AsyncSession, period: Period, tz: dt.tzinfo, now: dt.datetime, policy: Policy | None = None
) -> Stats:
    """The statistics of tickets created (and ratings given) in ``period``."""
    dia = sqlx.dialect(session)
    where = _in(period, tz)
    created = int(await session.scalar(select(func.count()).select_from(Ticket).where(where)) or 0)
    sub = sla.firsts(where)
    base = Ticket.__table__.outerjoin(sub, sub.c.ticket_id == Ticket.id)
    first_p, onsite_p, fix_p = sla.promises(sub, now)
    first = await _times(
        session, sqlx.minutes_between(sla.response_at(sub), Ticket.created_at, dia), where, base, first_p
    )
    site = await _times(
        session, sqlx.minutes_between(sub.c.first_onsite, Ticket.created_at, dia), where, base, onsite_p
    )
    promises = policy_promises(policy)
    first.promise, site.promise = promises["first_response"], promises["onsite"]
    return Stats(
        period=period,
        created=created,
        by_state=await _grouped(session, Ticket.status, where),
        by_category=await _grouped(session, Ticket.category, where),
        complaints=int(await session.scalar(select(func.count()).select_from(Ticket).where(where & Ticket.complaint)) or 0),
        first_response=first,
        onsite=site,
        breaches=await _breaches(session, where, base, [first_p, onsite_p, fix_p]),
        satisfaction=await _satisfaction(session, period, tz),
        escalations=await _escalations(session, period, tz),
    )
