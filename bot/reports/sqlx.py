"""Small dialect-aware SQL helpers for the reports (SQLite and PostgreSQL).

Datetimes are stored in UTC; reports group by the desk's local day. The desk's zone is taken as
a fixed offset at the start of the period (Asia/Shanghai has no daylight saving time).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Staff, TicketEvent


def dialect(session: AsyncSession) -> str:
    """``sqlite`` or ``postgresql``."""
    return session.get_bind().dialect.name


def offset_minutes(tz: dt.tzinfo, at: dt.datetime) -> int:
    """UTC offset of ``tz`` at ``at``, in minutes."""
    off = at.astimezone(tz).utcoffset()
    return int(off.total_seconds() // 60) if off else 0


def local_day(col: Any, dia: str, offset: int) -> ColumnElement[Any]:
    """The local calendar day of a UTC datetime column, as ``YYYY-MM-DD`` text."""
    if dia == "sqlite":
        return func.date(col, f"{offset:+d} minutes")
    shifted = col + literal_column(f"interval '{offset} minutes'")
    return func.to_char(func.timezone("UTC", shifted), "YYYY-MM-DD")


def local_minute(col: Any, dia: str, offset: int) -> ColumnElement[Any]:
    """Minutes since local midnight of a UTC datetime column."""
    if dia == "sqlite":
        shifted = func.strftime("%H", col, f"{offset:+d} minutes")
        mins = func.strftime("%M", col, f"{offset:+d} minutes")
        return cast(shifted, Integer) * 60 + cast(mins, Integer)
    shifted = func.timezone("UTC", col + literal_column(f"interval '{offset} minutes'"))
    return cast(func.extract("hour", shifted), Integer) * 60 + cast(func.extract("minute", shifted), Integer)


def minutes_between(later: Any, earlier: Any, dia: str) -> ColumnElement[Any]:
    """``later - earlier`` in minutes (float)."""
    if dia == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 1440.0
    return func.extract("epoch", later - earlier) / 60.0


def json_text(key: str) -> ColumnElement[str]:
    """A text value of the event's ``data``."""
    value: ColumnElement[str] = TicketEvent.data[key].as_string()
    return value


def json_int(key: str) -> ColumnElement[int]:
    """An integer value of the event's ``data``."""
    value: ColumnElement[int] = TicketEvent.data[key].as_integer()
    return value


async def staff_names(session: AsyncSession) -> dict[int, Staff]:
    """Every staff record by id (a few dozen rows)."""
    return {s.id: s for s in (await session.scalars(select(Staff))).all()}


async def percentile(session: AsyncSession, values: Any, q: float, n: int | None = None) -> float | None:
    """The ``q`` quantile (nearest rank) of the single-column subquery ``values``, in SQL.

    ``n`` is the number of non-NULL values when the caller already counted them."""
    col = values.c[0]
    if n is None:
        n = await session.scalar(select(func.count()).select_from(values).where(col.is_not(None)))
    if not n:
        return None
    rank = max(0, min(n - 1, int(-(-q * n // 1)) - 1))  # ceil(q·n) − 1
    return await session.scalar(select(col).where(col.is_not(None)).order_by(col).offset(rank).limit(1))
