"""Parsing of the date ranges typed in /cover, /swap and `sdbot roster cover`."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.roster.model import RosterError
from bot.roster.store import parse_range

TZ = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)  # type: ignore[misc]


def test_a_single_date_is_that_whole_day() -> None:
    assert parse_range("2026-12-01", TZ) == (at(2026, 12, 1), at(2026, 12, 2))


def test_a_date_range_includes_both_days() -> None:
    assert parse_range("2026-12-01..2026-12-03", TZ) == (at(2026, 12, 1), at(2026, 12, 4))


def test_a_datetime_range_is_half_open() -> None:
    assert parse_range("2026-12-01T18:00..2026-12-02T08:00", TZ) == (at(2026, 12, 1, 18), at(2026, 12, 2, 8))


@pytest.mark.parametrize("text", ["2026-12-03..2026-12-01", "2026-13-01", "tomorrow", "2026-12-01..",
                                  "2026-01-01..2026-06-30", "2026-12-01T08:00..2026-12-01T08:00"])
def test_bad_ranges_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(RosterError):
        parse_range(text, TZ)
