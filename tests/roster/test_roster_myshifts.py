"""/myshifts lists whole shifts: none cut at "now" or at the two-week horizon (issue 14)."""

from __future__ import annotations

import datetime as dt
import re

from bot.roster import DEFAULT_ROSTER, load_roster
from bot.roster.duty import upcoming_shifts
from tests.harness import Harness
from tests.support.dispatchkit import greet, local

TZ = dt.timezone(dt.timedelta(hours=8))


def test_upcoming_shifts_are_whole_shifts() -> None:
    roster = load_roster(DEFAULT_ROSTER)
    now = dt.datetime(2026, 11, 23, 13, 20, tzinfo=TZ)  # Monday: office li, December after-hours zhang
    shifts = upcoming_shifts(roster, "zhang", now, days=14)
    assert shifts[-1].start.date() == dt.date(2026, 12, 6)  # the last of the 14 days: 11-23 .. 12-06
    assert (shifts[-1].start.time(), shifts[-1].end.time()) == (dt.time(8, 0), dt.time(22, 30))
    assert all(s.end.time() != dt.time(13, 20) for s in shifts)
    li = upcoming_shifts(roster, "li", now, days=14)
    assert (li[0].start, li[0].end) == (now.replace(hour=9, minute=0), now.replace(hour=18, minute=0))  # under way


async def test_myshifts_has_no_phantom_last_shift(harness: Harness) -> None:
    harness.clock.set(local(harness, 2026, 11, 23, 13, 20))
    await harness.start()
    c = await greet(harness, "zhang", "li")
    text = (await c["zhang"].ask("/myshifts"))["text"]
    lines = [line for line in text.splitlines() if line.startswith("•")]
    assert lines and "13:20" not in text, text  # was: "12-07 一 08:00–13:20", a shift that is not in the roster
    assert lines[-1].startswith("• 12-06") and lines[-1].endswith("08:00–22:30"), lines[-1]
    assert all(re.search(r"\d\d:\d\d–\d\d:\d\d$", line) for line in lines)
    li = (await c["li"].ask("/myshifts"))["text"]
    assert "11-23" in li and "09:00–18:00" in li.splitlines()[1], li  # the shift under way, from its start
