"""Shifts in everyone's calendar (issue 18): ``roster ical``, the subscription feed, token rotation.

The iCalendar output is parsed back with ``icalendar`` and compared with ``calendar_table`` (the
rows of ``roster show``) day by day, over a range with a holiday and a cover.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable

import aiohttp
from icalendar import Calendar
from sqlalchemy import select

from bot.roster import DEFAULT_ROSTER, load_roster
from bot.roster.duty import calendar_table
from bot.roster.ical import roster_calendar, shift_uid
from bot.roster.model import CalendarRow, Roster
from bot.roster.overrides import accept_swap, make_override, propose_swap, with_overrides
from bot.runtime.ical_feed import FeedServer
from storage.models import AuditEntry, Staff
from tests.harness import Harness
from tests.staff.test_staff import sdbot
from tests.support.dispatchkit import greet, local
from tests.support.instances import start_instance

ROSTER = load_roster(DEFAULT_ROSTER)
# 2026-12-28 .. 2027-01-03: New Year's Day 2027 (a named holiday) and its weekend
FIRST, LAST = dt.date(2026, 12, 28), dt.date(2027, 1, 3)
Shift = tuple[dt.date, str, str, dt.datetime, dt.datetime, str | None]


def _events(cal: Calendar) -> tuple[list[Shift], dict[dt.date, str]]:
    """(shifts as (date, layer, member, start, end, covers), holiday names by date) of a parsed feed."""
    shifts: list[Shift] = []
    days: dict[dt.date, str] = {}
    for ev in cal.walk("VEVENT"):
        start, end = ev.decoded("dtstart"), ev.decoded("dtend")
        if not isinstance(start, dt.datetime):  # an all-day event: a named day
            assert end == start + dt.timedelta(days=1)
            days[start] = str(ev["summary"])
            continue
        assert ev["dtstart"].params["TZID"] == "Asia/Shanghai" == ev["dtend"].params["TZID"]
        layer = ev.get("categories").cats[0]
        summary = str(ev["summary"])
        match = re.search(r"· (\w+)(?: (?:代班|换班) (\w+))?$", summary)
        assert match, summary
        shifts.append((start.date(), layer, match[1], start, end, match[2]))
    return sorted(shifts, key=lambda s: (s[3], s[1])), days


def _table(rows: Iterable[CalendarRow], member: str | None = None) -> tuple[list[Shift], dict[dt.date, str]]:
    """The same from ``calendar_table`` rows."""
    shifts = [
        (row.day.date, a.layer, a.member, a.start, a.end, a.covers)
        for row in rows for items in row.assignments.values() for a in items
        if member is None or a.member == member
    ]
    days = {row.day.date: row.day.name or "" for row in rows if row.day.kind == "holiday" and row.day.name}
    return sorted(shifts, key=lambda s: (s[3], s[1])), days


def _with_cover() -> Roster:
    """li covers zhang on 2026-12-29 (zhang has both layers that week)."""
    return with_overrides(ROSTER, make_override(ROSTER, "li", "zhang", "2026-12-29", "2026-12-29"))


def _assert_matches(cal: Calendar, roster: Roster, member: str | None = None) -> None:
    shifts, days = _events(cal)
    want_shifts, want_days = _table(calendar_table(roster, FIRST, LAST), member)
    assert shifts == want_shifts
    assert want_days and set(days) == set(want_days)
    for day, name in want_days.items():
        assert name in days[day]


def test_calendar_parses_back_and_matches_the_table_day_by_day() -> None:
    roster = _with_cover()
    stamp = dt.datetime(2026, 12, 20, 12, 0, tzinfo=dt.UTC)
    text = roster_calendar(roster, FIRST, LAST, stamp=stamp).to_ical()
    cal = Calendar.from_ical(text)
    _assert_matches(cal, roster)
    assert dt.date(2027, 1, 1) in _events(cal)[1]
    assert cal.walk("VTIMEZONE") and str(cal.walk("VTIMEZONE")[0]["tzid"]) == "Asia/Shanghai"
    covered = [ev for ev in cal.walk("VEVENT") if "代班 zhang" in str(ev["summary"])]
    assert len(covered) == 3 and all("li 代班 zhang" in str(ev["summary"]) for ev in covered)
    assert any("办公时间" in str(ev["summary"]) for ev in covered)
    uids = [str(ev["uid"]) for ev in cal.walk("VEVENT")]
    assert len(uids) == len(set(uids))
    again = Calendar.from_ical(roster_calendar(roster, FIRST, LAST, stamp=stamp).to_ical())
    assert [str(ev["uid"]) for ev in again.walk("VEVENT")] == uids  # stable: a re-fetch updates, not duplicates


def test_one_member_and_swaps() -> None:
    proposal = propose_swap(ROSTER, "zhang", ("2026-12-30", "2026-12-30"), "li", ("2027-01-02", "2027-01-02"))
    roster = with_overrides(ROSTER, *accept_swap(proposal))
    cal = Calendar.from_ical(roster_calendar(roster, FIRST, LAST, member="li").to_ical())
    _assert_matches(cal, roster, member="li")
    summaries = [str(ev["summary"]) for ev in cal.walk("VEVENT")]
    assert any("li 换班 zhang" in s for s in summaries), summaries
    assert not any(s[3].date() == dt.date(2027, 1, 2) for s in _events(cal)[0])  # given to zhang
    assert all("· li" in s for s in summaries if "·" in s)
    first = calendar_table(roster, FIRST, FIRST)[0].assignments["office"][0]
    assert shift_uid(first) == f"{first.member}-20261228T010000Z-office@roster.sdbot"


async def test_cli_ical_matches_roster_show_db(harness: Harness) -> None:
    harness.clock.set(local(harness, 2026, 12, 27, 10, 0))
    out = await sdbot(harness, "roster", "cover", "li", "zhang", "2026-12-29")
    assert out.returncode == 0, out.stderr
    rng = ("--from", FIRST.isoformat(), "--to", LAST.isoformat())
    ical = await sdbot(harness, "roster", "ical", "--db", *rng)
    shown = await sdbot(harness, "roster", "show", "--db", "--json", *rng)
    assert ical.returncode == 0 and shown.returncode == 0, ical.stderr + shown.stderr
    shifts, days = _events(Calendar.from_ical(ical.stdout))
    rows = json.loads(shown.stdout)
    want = sorted(
        ((dt.date.fromisoformat(r["date"]), layer, a["member"], dt.datetime.fromisoformat(a["start"]),
          dt.datetime.fromisoformat(a["end"]), a["covers"])
         for r in rows for layer, items in r["assignments"].items() for a in items),
        key=lambda s: (s[3], s[1]))
    assert shifts == want and any(s[5] == "zhang" for s in shifts)
    assert {d.isoformat() for d in days} == {r["date"] for r in rows if r["kind"] == "holiday" and r["holiday"]}
    mine = await sdbot(harness, "roster", "ical", "--db", "--staff", "li", *rng)
    li = _events(Calendar.from_ical(mine.stdout))[0]
    assert {s[2] for s in li} == {"li"} and {s[0] for s in li if s[5] == "zhang"} == {dt.date(2026, 12, 29)}
    bad = await sdbot(harness, "roster", "ical", "--staff", "nobody", *rng)
    assert bad.returncode == 2 and "nobody" in bad.stderr and not bad.stdout


async def _fetch(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


def _url(text: str, base: str) -> str:
    match = re.search(r"http://\S+/ical/[A-Za-z0-9_-]+\.ics", text)
    assert match, text
    return base + match[0][match[0].index("/ical/"):]


async def test_subscription_url_serves_rotates_and_hides(harness: Harness) -> None:
    harness.clock.set(local(harness, 2026, 12, 28, 10, 0))
    await harness.start(webhook_host="127.0.0.1", webhook_port=18088)
    app = harness.app
    assert app is not None
    c = await greet(harness, "zhang", "li", "admin")
    text = (await c["zhang"].ask("/myshifts"))["text"]
    assert "http://127.0.0.1:18088/ical/" in text and "订阅" in text, text
    feed = FeedServer(app.desk, port=0)  # polling mode's listener (sdbot run without webhook)
    await feed.start()
    server = await start_instance(harness)  # and the webhook server's route
    try:
        for base in (feed.url, server.url):
            url = _url(text, base)
            status, ctype, body = await _fetch(url)
            assert status == 200 and ctype.startswith("text/calendar"), (status, body)
            cal = Calendar.from_ical(body)
            shifts = _events(cal)[0]
            assert shifts and {s[2] for s in shifts} == {"zhang"}
            assert dt.date(2027, 1, 1) in _events(cal)[1]
            wrong = url.replace("/ical/", "/ical/x")
            status, _, body = await _fetch(wrong)
            assert status == 404 and body == "not found"
        old = _url(text, feed.url)
        assert (await c["zhang"].ask("/myshifts"))["text"] == text  # the same link until rotated
        reply = (await c["admin"].ask("/staff ical zhang"))["text"]
        assert "zhang" in reply and "/ical/" not in reply, reply
        status, _, body = await _fetch(old)
        assert status == 404 and body == "not found"
        new_text = (await c["zhang"].ask("/myshifts"))["text"]
        new = _url(new_text, feed.url)
        assert new != old and (await _fetch(new))[0] == 200
        li = _url((await c["li"].ask("/myshifts"))["text"], feed.url)
        assert li not in (old, new) and {s[2] for s in _events(Calendar.from_ical((await _fetch(li))[2]))[0]} == {"li"}
        refused = (await c["li"].ask("/staff ical zhang"))["text"]
        assert "/ical/" not in refused
        assert (await _fetch(new))[0] == 200  # an engineer cannot rotate
        async with app.db.read() as s:
            audit = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "staff.ical_token_rotated"))).all()
            token = await s.scalar(select(Staff.ical_token).where(Staff.key == "zhang"))
        assert len(audit) == 1 and token and token not in json.dumps([a.data for a in audit])
    finally:
        await server.stop()
        await feed.stop()


async def test_public_url_and_cli_rotation(harness: Harness) -> None:
    harness.clock.set(local(harness, 2026, 12, 28, 10, 0))
    first = await sdbot(harness, "staff", "ical-token", "wang")
    assert first.returncode == 0, first.stderr
    again = await sdbot(harness, "staff", "ical-token", "wang")
    assert again.stdout == first.stdout and re.fullmatch(r"https?://\S+/ical/[\w-]{32}\.ics\n", first.stdout)
    rotated = await sdbot(harness, "staff", "ical-token", "wang", "--rotate")
    assert rotated.returncode == 0 and rotated.stdout != first.stdout
    await harness.start(webhook_url="https://desk.example.com")
    c = await greet(harness, "wang")
    text = (await c["wang"].ask("/myshifts"))["text"]
    assert "https://desk.example.com/ical/" + rotated.stdout.strip().rsplit("/", 1)[1] in text, text
    assert harness.app is not None
    feed = FeedServer(harness.app.desk, port=0)
    await feed.start()
    try:
        new, old = _url(rotated.stdout, feed.url), _url(first.stdout, feed.url)
        assert (await _fetch(new))[0] == 200 and (await _fetch(old))[0] == 404
        assert (await sdbot(harness, "staff", "deactivate", "wang")).returncode == 0
        assert (await _fetch(new))[:3:2] == (404, "not found")  # a deactivated person's link is dead too
    finally:
        await feed.stop()


def test_the_token_is_masked_in_logs() -> None:
    from bot.core.logs import RedactFilter

    line = RedactFilter().redact("GET http://127.0.0.1:8088/ical/Ab3_-xYz0123456789abcdefghijklmn.ics 404")
    assert "Ab3_" not in line and "/ical/<redacted>.ics" in line
