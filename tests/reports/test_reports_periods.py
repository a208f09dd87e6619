"""Forgiving arguments in both languages, and plain questions mapped to commands."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.reports.intent import intent_of
from bot.reports.paging import split_pages
from bot.reports.periods import Period, month, parse_args

TODAY = dt.date(2026, 11, 23)  # a Monday


def day(y: int, m: int, d: int) -> Period:
    return Period(dt.date(y, m, d), dt.date(y, m, d), "day")


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("2026-11", month(2026, 11)),
        ("2026年11月", month(2026, 11)),
        ("2026/10", month(2026, 10)),
        ("11月", month(2026, 11)),
        ("十一月", month(2026, 11)),
        ("十二月", month(2025, 12)),  # the latest December that has begun
        ("3月份", month(2026, 3)),
        ("上个月", month(2026, 10)),
        ("上月", month(2026, 10)),
        ("本月", month(2026, 11)),
        ("这个月", month(2026, 11)),
        ("last month", month(2026, 10)),
        ("Last Month", month(2026, 10)),
        ("this month", month(2026, 11)),
        ("nov", month(2026, 11)),
        ("October 2025", month(2025, 10)),
        ("yesterday", day(2026, 11, 22)),
        ("昨天", day(2026, 11, 22)),
        ("昨晚", day(2026, 11, 22)),
        ("last night", day(2026, 11, 22)),
        ("今天", day(2026, 11, 23)),
        ("today", day(2026, 11, 23)),
        ("前天", day(2026, 11, 21)),
        ("2026-11-05", day(2026, 11, 5)),
        ("2026年11月5日", day(2026, 11, 5)),
        ("11月5日", day(2026, 11, 5)),
        ("12月31日", day(2025, 12, 31)),
        ("上周", Period(dt.date(2026, 11, 16), dt.date(2026, 11, 22), "range")),
        ("this week", Period(dt.date(2026, 11, 23), dt.date(2026, 11, 23), "range")),
        ("2026-11-01 2026-11-15", Period(dt.date(2026, 11, 1), dt.date(2026, 11, 15), "range")),
        ("2026-11-15 到 2026-11-01", Period(dt.date(2026, 11, 1), dt.date(2026, 11, 15), "range")),
        ("11月1日至11月15日", Period(dt.date(2026, 11, 1), dt.date(2026, 11, 15), "range")),
        ("2026-09 2026-10", Period(dt.date(2026, 9, 1), dt.date(2026, 10, 31), "range")),
    ],
)
def test_periods(text: str, period: Period) -> None:
    parsed = parse_args(text, TODAY)
    assert not parsed.error
    assert parsed.period == period
    assert parsed.rest == ""


@pytest.mark.parametrize(
    ("text", "period", "rest"),
    [
        ("yesterday zhang", day(2026, 11, 22), "zhang"),
        ("昨天 张伟", day(2026, 11, 22), "张伟"),
        ("张伟 11月", month(2026, 11), "张伟"),
        ("@li_na 2026-11", month(2026, 11), "@li_na"),
        ("Zhang", None, "Zhang"),
        ("", None, ""),
    ],
)
def test_engineer_is_what_is_left(text: str, period: Period | None, rest: str) -> None:
    parsed = parse_args(text.split(), TODAY)
    assert (parsed.period, parsed.rest, parsed.error) == (period, rest, False)


@pytest.mark.parametrize("text", ["2026-13", "2026-02-30", "13月", "2月30日", "2026-01 2026-02 2026-03"])
def test_bad_dates_are_errors(text: str) -> None:
    assert parse_args(text, TODAY).error


def test_labels_and_bounds() -> None:
    tz = dt.timezone(dt.timedelta(hours=8))
    p = month(2026, 2)
    assert p.label == "2026-02" and p.end == dt.date(2026, 2, 28)
    start, end = p.bounds(tz)
    assert start == dt.datetime(2026, 2, 1, tzinfo=tz) and end == dt.datetime(2026, 3, 1, tzinfo=tz)
    assert day(2026, 11, 22).label == "2026-11-22"
    assert len(month(2026, 12).days()) == 31


@pytest.mark.parametrize(
    ("text", "command", "args_has"),
    [
        ("昨晚谁值班", "log", "昨晚"),
        ("昨天张伟做了什么", "log", "昨天"),
        ("这个月有几单超时", "stats", "这个月"),
        ("有哪些超时的工单", "overdue", None),
        ("what is still open", "open", None),
        ("还有哪些没解决", "open", None),
        ("上个月满意度怎么样", "stats", "上个月"),
        ("how did we do last month", "stats", "last month"),
        ("导出这个月的表格", "export", "这个月"),
        ("chart for october", "chart", "october"),
        ("最近有投诉吗", "complaints", None),
        ("SD-2026-000123 怎么样了", "ticket", "SD-2026-000123"),
        ("who was on duty last night", "log", "last night"),
    ],
)
def test_plain_questions(text: str, command: str, args_has: str | None) -> None:
    intent = intent_of(text)
    assert intent is not None and intent.command == command
    if args_has:
        assert args_has in intent.args
    else:
        assert intent.args == "" or command == "complaints"


def test_other_text_is_no_command() -> None:
    assert intent_of("你好") is None and intent_of("hello there") is None


def test_pages_never_exceed_the_limit_and_keep_every_line() -> None:
    lines = [f"<code>SD-2026-{i:06d}</code> 客户 &amp; 设备 {i}" for i in range(600)]
    text = "\n".join(lines)
    pages = split_pages(text, 3500)
    assert len(pages) > 1 and all(len(p) <= 3500 for p in pages)
    assert "\n".join(pages).split("\n") == lines
    long = "字" * 9000
    parts = split_pages(long, 3500)
    assert "".join(parts) == long and all(len(p) <= 3500 for p in parts)


def test_policy_promises_are_read_from_the_policy_whatever_its_shape() -> None:
    from types import SimpleNamespace as NS

    from bot.reports.stats import policy_promises

    assert policy_promises(None) == {"first_response": {}, "onsite": {}}
    nested = NS(sla=NS(first_response=NS(hours=2), onsite=NS(city=NS(hours=4), suburb=NS(minutes=480))))
    assert policy_promises(nested) == {"first_response": {"": 120.0}, "onsite": {"city": 240.0, "suburb": 480.0}}
    flat = NS(sla=NS(first_response_hours=1, onsite_city_hours=4, onsite_suburb_hours=8))
    assert policy_promises(flat) == {"first_response": {"": 60.0}, "onsite": {"city": 240.0, "suburb": 480.0}}
    table = {"sla": {"first_response": 2, "onsite": {"city": 4, "suburb": 8}}}
    assert policy_promises(table) == {"first_response": {"": 120.0}, "onsite": {"city": 240.0, "suburb": 480.0}}
