"""Statutory public holidays computed by rule, for years the official ``chinesecalendar`` lacks.

The rule is the one in force since 1 January 2025 (《全国年节及纪念日放假办法》 as amended by
State Council Decree No. 795): 元旦 1 day (Jan 1), 春节 4 days from 除夕 (the last day of the
12th lunar month), 清明 1 day (the 清明 solar term), 劳动节 2 days (May 1–2), 端午 1 day
(5th day of the 5th lunar month), 中秋 1 day (15th day of the 8th lunar month), 国庆 3 days
(Oct 1–3). Only these statutory days are computed: the yearly State Council arrangement that moves
them into a longer break (make-up working weekends, 调休, and the extra days off, including any
substitute day when a holiday falls on a weekend or two coincide) is published each November and
entered by an admin (``/calendar`` or ``sdbot calendar add``).

Lunar dates and the solar term come from ``lunar_python`` (pure Python, maintained, with the
solar-term table that a plain lunar converter such as ``lunardate`` or ``zhdate`` lacks); the
rule itself is a few lines and stays here.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from lunar_python import Lunar

__all__ = ["RULE_SINCE", "statutory_holidays"]

RULE_SINCE = 2025  # first year of the current rule; earlier years are not computed

# The names chinesecalendar uses, so computed and official days read the same.
NEW_YEAR = "New Year's Day"
SPRING = "Spring Festival"
TOMB_SWEEPING = "Tomb-sweeping Day"
LABOUR = "Labour Day"
DRAGON_BOAT = "Dragon Boat Festival"
MID_AUTUMN = "Mid-autumn Festival"
NATIONAL = "National Day"


def _solar(lunar: Lunar) -> dt.date:
    solar = lunar.getSolar()
    return dt.date(solar.getYear(), solar.getMonth(), solar.getDay())


def _span(first: dt.date, days: int) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range(days)]


@lru_cache(maxsize=32)
def statutory_holidays(year: int) -> dict[dt.date, str]:
    """Date → holiday name of every statutory day off in ``year`` (empty before ``RULE_SINCE``).

    Where two holidays fall on one date (中秋 inside 国庆) the date appears once, under 国庆.
    """
    if year < RULE_SINCE:
        return {}
    new_year_eve = _solar(Lunar.fromYmd(year, 1, 1).next(-1))  # 除夕: the day before 正月初一
    qingming = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    days: list[tuple[str, list[dt.date]]] = [
        (NEW_YEAR, [dt.date(year, 1, 1)]),
        (SPRING, _span(new_year_eve, 4)),
        (TOMB_SWEEPING, [dt.date(qingming.getYear(), qingming.getMonth(), qingming.getDay())]),
        (LABOUR, _span(dt.date(year, 5, 1), 2)),
        (DRAGON_BOAT, [_solar(Lunar.fromYmd(year, 5, 5))]),
        (MID_AUTUMN, [_solar(Lunar.fromYmd(year, 8, 15))]),
        (NATIONAL, _span(dt.date(year, 10, 1), 3)),
    ]
    out: dict[dt.date, str] = {}
    for name, dates in days:
        for day in dates:
            out[day] = name  # later entries win: 国庆 over a coinciding 中秋
    return dict(sorted(out.items()))
