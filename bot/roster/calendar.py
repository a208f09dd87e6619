"""Working-day calendar: official Chinese calendar (with 调休) plus a local override table."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import chinese_calendar

from bot.roster.model import CalendarOverrides, DayInfo

__all__ = ["covered_years", "coverage_warning", "day_info", "is_workday"]


@lru_cache(maxsize=1)
def covered_years() -> range:
    """Years the installed ``chinesecalendar`` release has official data for."""
    years = {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}
    return range(min(years), max(years) + 1)


def coverage_warning(year: int) -> str | None:
    """A warning when ``year`` is outside the library's data (Mon–Fri fallback), else None."""
    years = covered_years()
    if year in years:
        return None
    return (
        f"official holiday calendar has no data for {year} (chinesecalendar covers "
        f"{years.start}–{years.stop - 1}); using Mon–Fri working days plus the local "
        f"[calendar] table — update the chinesecalendar package"
    )


def _library_day(day: dt.date) -> DayInfo:
    try:
        workday = chinese_calendar.is_workday(day)
        _, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        kind = "workday" if day.weekday() < 5 else "rest"
        return DayInfo(day, kind, source="fallback")
    if workday:
        return DayInfo(day, "workday", name, makeup=day.weekday() >= 5)
    return DayInfo(day, "holiday" if name else "rest", name)


def day_info(day: dt.date, local: CalendarOverrides | None = None) -> DayInfo:
    """Classify ``day``; entries of the local table win over the library."""
    if local is not None:
        for entry in local.holidays:
            if entry.date == day:
                return DayInfo(day, "holiday", entry.name or None, source="local")
        for entry in local.workdays:
            if entry.date == day:
                return DayInfo(day, "workday", entry.name or None, makeup=day.weekday() >= 5,
                               source="local")
    return _library_day(day)


def is_workday(day: dt.date, local: CalendarOverrides | None = None) -> bool:
    """True on official (or locally declared) working days, including make-up weekends."""
    return day_info(day, local).is_workday
