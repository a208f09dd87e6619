"""Forgiving period arguments: 2026-11, 11月, 十一月, 上个月, last month, yesterday, 昨晚, FROM TO …

``parse_args`` turns the words after a command into a :class:`Parsed` (a period and whatever is
left, e.g. an engineer's name). It knows nothing about the database or Telegram.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_CN_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
           "十": 10, "十一": 11, "十二": 12}
_EN_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}


@dataclass(frozen=True)
class Period:
    """Local calendar days ``start``..``end`` inclusive; ``kind`` is day, month or range."""

    start: dt.date
    end: dt.date
    kind: str

    @property
    def label(self) -> str:
        """``2026-11-23``, ``2026-11`` or ``2026-11-01 – 2026-11-15``."""
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        return f"{self.start.isoformat()} – {self.end.isoformat()}"

    def bounds(self, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
        """Aware datetimes ``[start 00:00, day after end 00:00)`` in ``tz``."""
        start = dt.datetime.combine(self.start, dt.time(), tzinfo=tz)
        end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=tz)
        return start, end

    def days(self) -> list[dt.date]:
        """Every day of the period."""
        n = (self.end - self.start).days + 1
        return [self.start + dt.timedelta(days=i) for i in range(n)]


@dataclass(frozen=True)
class Parsed:
    """What the arguments said: a period (None = not given), the rest (an engineer), or an error."""

    period: Period | None
    rest: str
    error: bool = False


def day(d: dt.date) -> Period:
    """A single day."""
    return Period(d, d, "day")


def month(year: int, mon: int) -> Period:
    """A calendar month."""
    start = dt.date(year, mon, 1)
    nxt = dt.date(year + (mon == 12), mon % 12 + 1, 1)
    return Period(start, nxt - dt.timedelta(days=1), "month")


def this_month(today: dt.date) -> Period:
    """The month of ``today``."""
    return month(today.year, today.month)


def _last_month(today: dt.date) -> Period:
    first = today.replace(day=1) - dt.timedelta(days=1)
    return month(first.year, first.month)


def _month_no_year(mon: int, today: dt.date) -> Period:
    """``11月`` means the latest November that has begun."""
    year = today.year if mon <= today.month else today.year - 1
    return month(year, mon)


def _date_no_year(mon: int, dom: int, today: dt.date) -> dt.date:
    d = dt.date(today.year, mon, dom)
    return d if d <= today else dt.date(today.year - 1, mon, dom)


def _week(today: dt.date, back: int) -> Period:
    monday = today - dt.timedelta(days=today.weekday() + 7 * back)
    end = min(monday + dt.timedelta(days=6), today) if back == 0 else monday + dt.timedelta(days=6)
    return Period(monday, end, "range")


# Each pattern yields either ("date", date) or ("period", Period); order matters (longest first).
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?"), "ymd"),
    (re.compile(r"(\d{4})[-/.年](\d{1,2})月?"), "ym"),
    (re.compile(r"(\d{1,2})月(\d{1,2})[日号]"), "md"),
    (re.compile(r"(\d{1,2})月份?"), "m"),
    (re.compile(r"(十[一二]?|[一二两三四五六七八九])月份?"), "cn_m"),
    (re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\s+(\d{4}))?\b"), "en_m"),
    (re.compile(r"上上个?月|two months ago"), "m-2"),
    (re.compile(r"上个?月|last month|previous month"), "m-1"),
    (re.compile(r"本月|这个?月|this month|当月"), "m0"),
    (re.compile(r"前天|前晚|day before yesterday"), "d-2"),
    (re.compile(r"昨天|昨晚|昨日|昨夜|yesterday|last night"), "d-1"),
    (re.compile(r"今天|今晚|今日|today|tonight"), "d0"),
    (re.compile(r"上个?(?:周|星期|礼拜)|last week"), "w-1"),
    (re.compile(r"本周|这个?(?:周|星期|礼拜)|this week"), "w0"),
]
_SEPARATORS = re.compile(r"^(?:到|至|~|–|—|-|to|from|from:|的|在|谁|，|,|\s)+$")


def _match(kind: str, m: re.Match[str], today: dt.date) -> dt.date | Period:
    g = m.groups()
    if kind == "ymd":
        return dt.date(int(g[0]), int(g[1]), int(g[2]))
    if kind == "ym":
        return month(int(g[0]), int(g[1]))
    if kind == "md":
        return _date_no_year(int(g[0]), int(g[1]), today)
    if kind == "m":
        return _month_no_year(int(g[0]), today)
    if kind == "cn_m":
        return _month_no_year(_CN_NUM[g[0]], today)
    if kind == "en_m":
        mon = _EN_MONTHS[g[0]]
        return month(int(g[1]), mon) if g[1] else _month_no_year(mon, today)
    if kind.startswith("m"):
        back = -int(kind[1:])
        first = today.replace(day=1)
        for _ in range(back):
            first = (first - dt.timedelta(days=1)).replace(day=1)
        return this_month(first)
    if kind.startswith("d"):
        return today + dt.timedelta(days=int(kind[1:]))
    return _week(today, -int(kind[1:]))


def find_periods(text: str, today: dt.date) -> tuple[list[dt.date | Period], str]:
    """Every date or period named in ``text`` (in order) and the text with them removed."""
    found: list[tuple[int, dt.date | Period]] = []
    rest = text.lower()
    for pattern, kind in _PATTERNS:
        while (m := pattern.search(rest)) is not None:
            found.append((m.start(), _match(kind, m, today)))
            rest = rest[: m.start()] + " " * (m.end() - m.start()) + rest[m.end() :]
    found.sort(key=lambda p: p[0])
    return [f for _, f in found], _keep_case(text, rest)


def _keep_case(original: str, blanked: str) -> str:
    """The words of ``original`` whose characters were not blanked out."""
    chars = [o if b != " " or o.isspace() else " " for o, b in zip(original, blanked, strict=False)]
    return " ".join("".join(chars).split())


def parse_args(words: list[str] | str, today: dt.date) -> Parsed:
    """Parse command arguments; a bad date (2026-13, 2月30日) or three periods is an error."""
    text = words if isinstance(words, str) else " ".join(words)
    try:
        found, rest = find_periods(text, today)
    except ValueError:
        return Parsed(None, "", error=True)
    rest = "" if _SEPARATORS.match(rest or " ") else rest.strip(" ,，")
    if not found:
        return Parsed(None, rest)
    if len(found) == 1:
        only = found[0]
        return Parsed(day(only) if isinstance(only, dt.date) else only, rest)
    if len(found) == 2:
        a, b = (_as_period(f) for f in found)
        start, end = min(a.start, b.start), max(a.end, b.end)
        return Parsed(Period(start, end, "range"), rest)
    return Parsed(None, rest, error=True)


def _as_period(item: dt.date | Period) -> Period:
    return day(item) if isinstance(item, dt.date) else item
