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


def test_years_past_the_package_follow_the_statutory_rule() -> None:
    years = covered_years()
    assert 2025 in years and 2026 in years and 2040 not in years
    assert coverage_warning(2026) is None
    warning = coverage_warning(2040)
    assert warning is not None and "2040" in warning and "sdbot calendar add" in warning
    new_year = day_info(D(2040, 1, 1))
    assert (new_year.kind, new_year.name, new_year.source) == ("holiday", "New Year's Day", "rule")
    assert (day_info(D(2040, 1, 2)).kind, day_info(D(2040, 1, 2)).source) == ("workday", "rule")  # Monday
    assert day_info(D(2040, 1, 7)).kind == "rest"  # Saturday
    local = CalendarOverrides(holidays=(Holiday(D(2040, 1, 2), "New Year"),))
    assert day_info(D(2040, 1, 2), local).kind == "holiday"
    with_makeup = CalendarOverrides(workdays=(Holiday(D(2040, 1, 7), source="stored"),))
    assert coverage_warning(2040, with_makeup) is None
    info = day_info(D(2040, 1, 7), with_makeup)
    assert (info.kind, info.makeup, info.source) == ("workday", True, "stored")


def test_before_the_rule_and_the_package_monday_friday() -> None:
    assert covered_years().start > 2000
    assert (day_info(D(2000, 1, 3)).kind, day_info(D(2000, 1, 3)).source) == ("workday", "fallback")
    assert day_info(D(2000, 1, 1)).kind == "rest"  # a Saturday; no rule computed before 2025
    assert "update the chinesecalendar package" in (coverage_warning(2000) or "")


def test_new_years_day_2027_is_a_holiday_not_an_office_day() -> None:
    """The issue: 2027-01-01 came out as an office day with the office engineer on duty."""
    from bot.roster import DEFAULT_ROSTER, calendar_table, load_roster

    row = calendar_table(load_roster(DEFAULT_ROSTER), D(2027, 1, 1), D(2027, 1, 1))[0]
    assert (row.day.kind, row.day.name) == ("holiday", "New Year's Day")
    assert row.assignments["office"] == [] and row.assignments["after_hours"]
