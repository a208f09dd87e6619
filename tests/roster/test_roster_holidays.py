"""Statutory holidays computed by the rule in force since 2025 (past the chinesecalendar data)."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest
from lunar_python import Lunar

from bot.roster.calendar import covered_years
from bot.roster.holidays import (
    DRAGON_BOAT,
    LABOUR,
    MID_AUTUMN,
    NATIONAL,
    NEW_YEAR,
    SPRING,
    TOMB_SWEEPING,
    statutory_holidays,
)

D = dt.date


def test_2027_exactly_as_the_issue_lists_it() -> None:
    assert statutory_holidays(2027) == {
        D(2027, 1, 1): NEW_YEAR,
        D(2027, 2, 5): SPRING, D(2027, 2, 6): SPRING, D(2027, 2, 7): SPRING, D(2027, 2, 8): SPRING,
        D(2027, 4, 5): TOMB_SWEEPING,
        D(2027, 5, 1): LABOUR, D(2027, 5, 2): LABOUR,
        D(2027, 6, 9): DRAGON_BOAT,
        D(2027, 9, 15): MID_AUTUMN,
        D(2027, 10, 1): NATIONAL, D(2027, 10, 2): NATIONAL, D(2027, 10, 3): NATIONAL,
    }


@pytest.mark.parametrize("year", range(2025, 2031))
def test_structure_of_every_year(year: int) -> None:
    days = statutory_holidays(year)
    names = list(days.values())
    assert names.count(NEW_YEAR) == 1 and D(year, 1, 1) in days
    assert names.count(SPRING) == 4
    spring = sorted(d for d, n in days.items() if n == SPRING)
    assert spring == [spring[0] + dt.timedelta(days=i) for i in range(4)]
    eve = Lunar.fromYmd(year, 1, 1).next(-1)  # 除夕: the last day of the 12th lunar month
    assert (spring[0].month, spring[0].day) == (eve.getSolar().getMonth(), eve.getSolar().getDay())
    assert Lunar.fromDate(dt.datetime.combine(spring[1], dt.time())).getMonth() == 1  # 正月初一 follows
    assert [d for d, n in days.items() if n == TOMB_SWEEPING][0] in (D(year, 4, 4), D(year, 4, 5), D(year, 4, 6))
    assert [d for d, n in days.items() if n == LABOUR] == [D(year, 5, 1), D(year, 5, 2)]
    assert [d for d, n in days.items() if n == NATIONAL] == [D(year, 10, 1), D(year, 10, 2), D(year, 10, 3)]
    assert names.count(DRAGON_BOAT) == 1
    # 中秋 is its own day unless it falls inside 国庆 (2028-10-03), where the date counts once
    assert len(days) == (13 if names.count(MID_AUTUMN) == 1 else 12)


def test_2028_mid_autumn_inside_national_day_counts_once() -> None:
    days = statutory_holidays(2028)
    assert MID_AUTUMN not in days.values() and days[D(2028, 10, 3)] == NATIONAL


@pytest.mark.parametrize("year", [y for y in (2025, 2026) if y in covered_years()])
def test_rule_agrees_with_the_official_data(year: int) -> None:
    """Every computed statutory day is a day off in the official arrangement."""
    for day in statutory_holidays(year):
        assert chinese_calendar.is_holiday(day), day


def test_no_rule_before_2025() -> None:
    assert statutory_holidays(2024) == {}
