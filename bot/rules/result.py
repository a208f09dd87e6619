"""Shared pieces of the calculators: result base class, money rounding, calendar arithmetic.

Every calculator returns a frozen dataclass derived from :class:`Result`: its values, ``clauses``
(the clause ids applied, in order) and a one-line English ``reason`` for audits.
``as_json()`` gives the ``sdbot rules --json`` shape (amounts as numbers, dates as ISO strings).
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.roster.calendar import is_workday as official_workday

CENT = Decimal("0.01")


class RulesError(ValueError):
    """A calculator was given an impossible input (unknown item or zone, negative amount …)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Result:
    """Base of every calculator result."""

    clauses: list[str]
    reason: str

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict: Decimal → number, date/datetime → ISO string."""
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


def jsonable(value: Any) -> Any:
    """``value`` with Decimals as int/float, dates as ISO strings, dataclasses as dicts."""
    if isinstance(value, Result):
        return value.as_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def money(value: Any) -> Decimal:
    """Exact money: Decimal rounded half-up to the cent (ints, strings and Decimals accepted)."""
    if isinstance(value, float):
        value = str(value)
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def non_negative(name: str, value: Any) -> Decimal:
    """``value`` as money; RulesError when it is not a number ≥ 0."""
    try:
        out = money(value)
    except Exception:
        raise RulesError(f"{name}: not an amount: {value!r}") from None
    if out < 0:
        raise RulesError(f"{name}: must not be negative: {value}")
    return out


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (or earlier), clamped to the month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def add_years(day: dt.date, years: int) -> dt.date:
    """Same calendar date ``years`` later (29 February → 28 February)."""
    return add_months(day, 12 * years)


def last_covered_day(start: dt.date, *, years: int = 0, months: int = 0) -> dt.date:
    """A period of ``years``/``months`` starting on ``start`` covers up to this day (inclusive):
    the day before the same date later; when that date does not exist (29 Feb, 31st) the period
    ends on the month's last day (start 2024-02-29, 1 year → 2025-02-28)."""
    target = add_months(start, 12 * years + months)
    if target.day < start.day:  # clamped: the anniversary would be the 1st of the next month
        return target
    return target - dt.timedelta(days=1)


WorkdayFn = Callable[[dt.date], bool]


def default_workday(day: dt.date) -> bool:
    """The official Chinese calendar (with make-up working weekends); Mon–Fri if unavailable."""
    try:
        return bool(official_workday(day))
    except Exception:  # outside the official calendar's years
        return day.weekday() < 5


def add_working_days(day: dt.date, days: int, is_workday: WorkdayFn | None = None) -> dt.date:
    """The ``days``-th working day after ``day`` (``day`` itself not counted)."""
    check = is_workday or default_workday
    out, left = day, days
    while left > 0:
        out += dt.timedelta(days=1)
        if check(out):
            left -= 1
    return out
