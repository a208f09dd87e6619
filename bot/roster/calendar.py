"""Working-day calendar, in order of precedence:

1. the local table: days an admin stored in the database (``/calendar``, ``sdbot calendar``),
   then the roster file's ``[calendar]``;
2. the official ``chinesecalendar`` data (holidays and 调休) for the years it covers;
3. past those years, the statutory holidays computed by rule (``bot.roster.holidays``) on a
   Monday–Friday week — the make-up working days of such a year come only from the local table;
4. Monday–Friday for years before the rule with no official data.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import chinese_calendar

from bot.roster.holidays import RULE_SINCE, statutory_holidays
from bot.roster.model import CalendarOverrides, DayInfo, DaySource

__all__ = [
    "covered_years", "coverage_warning", "day_info", "is_workday", "makeup_missing", "missing_years",
]


@lru_cache(maxsize=1)
def covered_years() -> range:
    """Years the installed ``chinesecalendar`` release has official data for."""
    years = {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}
    return range(min(years), max(years) + 1)


def makeup_missing(year: int, local: CalendarOverrides | None = None) -> bool:
    """True when ``year`` has no official data and no make-up working day in the local table."""
    if year in covered_years():
        return False
    return local is None or not any(e.date.year == year for e in local.workdays)


def missing_years(today: dt.date, local: CalendarOverrides | None = None) -> list[int]:
    """This year and, from 1 December, next year, where they lack official or entered 调休."""
    years = [today.year, today.year + 1] if today.month == 12 else [today.year]
    return [y for y in years if makeup_missing(y, local)]


def coverage_warning(year: int, local: CalendarOverrides | None = None) -> str | None:
    """One line when ``year`` lacks official data and entered make-up days, else None."""
    if not makeup_missing(year, local):
        return None
    years = covered_years()
    official = f"chinesecalendar covers {years.start}–{years.stop - 1}"
    if year >= RULE_SINCE:
        return (
            f"no official holiday calendar for {year} ({official}): statutory holidays follow the "
            f"2025 rule, but no make-up working days (调休) are entered for {year} — add them with "
            f"`sdbot calendar add` or /calendar"
        )
    return (
        f"official holiday calendar has no data for {year} ({official}); using Mon–Fri working "
        f"days plus the local [calendar] table — update the chinesecalendar package"
    )


def _weekday(day: dt.date, source: DaySource) -> DayInfo:
    return DayInfo(day, "workday" if day.weekday() < 5 else "rest", source=source)


def _official_day(day: dt.date) -> DayInfo:
    try:
        workday = chinese_calendar.is_workday(day)
        _, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return _weekday(day, "fallback")
    if workday:
        return DayInfo(day, "workday", name, makeup=day.weekday() >= 5)
    return DayInfo(day, "holiday" if name else "rest", name)


@lru_cache(maxsize=4096)
def _computed_day(day: dt.date) -> DayInfo:
    """The official or rule-computed day (cached: the roster asks for the same days per decision)."""
    if day.year in covered_years():
        return _official_day(day)
    if day.year < RULE_SINCE:
        return _weekday(day, "fallback")
    name = statutory_holidays(day.year).get(day)
    return DayInfo(day, "holiday", name, source="rule") if name else _weekday(day, "rule")


def day_info(day: dt.date, local: CalendarOverrides | None = None) -> DayInfo:
    """Classify ``day``; entries of the local table win over the official or computed day."""
    if local is not None:
        entry = local.by_date.get(day)
        if entry is not None:
            kind, e = entry
            return DayInfo(day, kind, e.name or None, makeup=kind == "workday" and day.weekday() >= 5,
                           source=e.source)
    return _computed_day(day)


def is_workday(day: dt.date, local: CalendarOverrides | None = None) -> bool:
    """True on official (or locally declared) working days, including make-up weekends."""
    return day_info(day, local).is_workday
