"""Working-day calendar: official Chinese calendar (调休), local overrides, coverage fallback."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest

from bot.roster.calendar import coverage_warning, covered_years, day_info, is_workday
from bot.roster.model import CalendarOverrides, Holiday

D = dt.date


def test_library_facts_we_rely_on() -> None:
    # Looked up from chinesecalendar itself, so a library update that changes them shows up here.
    assert chinese_calendar.get_holiday_detail(D(2026, 2, 17)) == (True, "Spring Festival")
    assert chinese_calendar.is_workday(D(2026, 2, 14))  # Saturday, make-up day
    assert chinese_calendar.get_holiday_detail(D(2026, 10, 1)) == (True, "National Day")
    assert chinese_calendar.is_workday(D(2025, 9, 28))  # Sunday, make-up day


@pytest.mark.parametrize(("day", "kind", "name", "makeup"), [
    (D(2026, 2, 17), "holiday", "Spring Festival", False),
    (D(2026, 2, 16), "holiday", "Spring Festival", False),  # Monday inside the break
    (D(2026, 2, 14), "workday", "Spring Festival", True),   # Saturday 调休
    (D(2026, 10, 1), "holiday", "National Day", False),
    (D(2026, 10, 3), "holiday", "National Day", False),     # weekend inside the break
    (D(2026, 10, 10), "workday", "National Day", True),     # Saturday 调休
    (D(2025, 9, 28), "workday", "National Day", True),      # Sunday 调休
    (D(2025, 1, 28), "holiday", "Spring Festival", False),
    (D(2026, 3, 7), "rest", None, False),                   # ordinary Saturday
    (D(2026, 3, 10), "workday", None, False),               # ordinary Tuesday
])
def test_official_days(day: dt.date, kind: str, name: str | None, makeup: bool) -> None:
    info = day_info(day)
    assert (info.kind, info.name, info.makeup, info.source) == (kind, name, makeup, "library")
    assert is_workday(day) is (kind == "workday")


def test_local_table_wins_over_library() -> None:
    local = CalendarOverrides(workdays=(Holiday(D(2026, 10, 7)),),
                              holidays=(Holiday(D(2026, 10, 10), "Company outing"), Holiday(D(2026, 3, 10))))
    assert day_info(D(2026, 10, 7), local).kind == "workday"
    info = day_info(D(2026, 10, 10), local)
    assert (info.kind, info.name, info.source) == ("holiday", "Company outing", "local")
    assert day_info(D(2026, 3, 10), local).kind == "holiday"
    assert day_info(D(2026, 3, 11), local).source == "library"


def test_uncovered_year_falls_back_to_monday_friday() -> None:
    years = covered_years()
    assert 2025 in years and 2026 in years and 2040 not in years
    assert coverage_warning(2026) is None
    warning = coverage_warning(2040)
    assert warning is not None and "2040" in warning
    assert day_info(D(2040, 1, 2)).kind == "workday"  # Monday
    assert day_info(D(2040, 1, 1)).kind == "rest"     # Sunday
    assert day_info(D(2040, 1, 2)).source == "fallback"
    local = CalendarOverrides(holidays=(Holiday(D(2040, 1, 2), "New Year"),))
    assert day_info(D(2040, 1, 2), local).kind == "holiday"
