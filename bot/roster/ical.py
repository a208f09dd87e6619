"""The duty calendar as an RFC 5545 calendar (``icalendar``): one event per shift, holidays named.

Built from ``calendar_table`` — the same rows as ``roster show`` — so the feed and the table agree
day by day. Pure: a Roster (with whatever covers and swaps it carries) in, a Calendar out.
"""

from __future__ import annotations

import datetime as dt

from icalendar import Calendar, Event

from bot.roster.duty import calendar_table
from bot.roster.model import Assignment, CalendarRow, Roster

PRODID = "-//servicedesk-bot//duty roster//ZH"
UID_DOMAIN = "roster.sdbot"

#: Shown in SUMMARY; layers not listed keep their own name.
LAYER_TITLES = {"office": "办公时间 office hours", "after_hours": "值班 after-hours duty"}
DAY_TITLES = {"holiday": "假日", "makeup": "调休上班"}


def _override_kind(roster: Roster, a: Assignment) -> str:
    """``swap`` when the assignment comes from an accepted swap, else ``cover``."""
    for o in reversed(roster.overrides):  # later overrides win, as in ``duty._owner``
        if (o.member, o.covers) == (a.member, a.covers) and o.start <= a.start and a.end <= o.end:
            return "swap" if o.note.startswith("swap") else "cover"
    return "cover"


def shift_summary(roster: Roster, a: Assignment) -> str:
    """``值班 after-hours duty · zhang`` or ``… · li 代班 wang`` / ``… · li 换班 wang``."""
    title = LAYER_TITLES.get(a.layer, a.layer)
    who = a.member
    if a.covers:
        word = "换班" if _override_kind(roster, a) == "swap" else "代班"
        who = f"{a.member} {word} {a.covers}"
    return f"{title} · {who}"


def shift_uid(a: Assignment) -> str:
    """Stable per shift: member, start instant (UTC) and layer."""
    return f"{a.member}-{a.start.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{a.layer}@{UID_DOMAIN}"


def _shift_event(roster: Roster, a: Assignment, stamp: dt.datetime) -> Event:
    event = Event()
    event.add("uid", shift_uid(a))
    event.add("dtstamp", stamp)
    event.add("dtstart", a.start)
    event.add("dtend", a.end)
    event.add("summary", shift_summary(roster, a))
    event.add("categories", [a.layer])
    if a.covers:
        event.add("description", f"covers {a.covers}")
    return event


def _day_event(row: CalendarRow, stamp: dt.datetime) -> Event | None:
    """An all-day event for a named holiday or a make-up working day, else None."""
    day = row.day
    if not day.name or not (day.kind == "holiday" or day.makeup):
        return None
    event = Event()
    kind = "makeup" if day.makeup else "holiday"
    event.add("uid", f"{kind}-{day.date:%Y%m%d}@{UID_DOMAIN}")
    event.add("dtstamp", stamp)
    event.add("dtstart", day.date)
    event.add("dtend", day.date + dt.timedelta(days=1))
    event.add("summary", f"{DAY_TITLES[kind]} {day.name}")
    event.add("transp", "TRANSPARENT")
    event.add("categories", [kind])
    return event


def roster_calendar(
    roster: Roster, start: dt.date, end: dt.date, *, member: str | None = None, stamp: dt.datetime | None = None,
) -> Calendar:
    """Shifts (of ``member``, or everyone) and named holidays on local dates ``[start, end]``.

    ``stamp`` is DTSTAMP (the time of building; pass the desk clock's now), default the start date.
    """
    stamp = (stamp or dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)).astimezone(dt.UTC)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"值班 {member}" if member else "值班表 duty roster")
    cal.add("x-wr-timezone", roster.timezone)
    for row in calendar_table(roster, start, end):
        day_event = _day_event(row, stamp)
        if day_event is not None:
            cal.add_component(day_event)
        for items in row.assignments.values():
            for a in items:
                if member is None or a.member == member:
                    cal.add_component(_shift_event(roster, a, stamp))
    cal.add_missing_timezones()
    return cal
