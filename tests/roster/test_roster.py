"""Duty roster domain: windows, rotation, handoffs, overrides, swaps and queries."""

from __future__ import annotations

import datetime as dt
import tomllib
from zoneinfo import ZoneInfo

import pytest

from bot.roster import (
    DEFAULT_ROSTER,
    accept_swap,
    calendar_table,
    load_roster,
    make_override,
    next_handoffs,
    next_window_start,
    on_duty,
    parse_roster,
    propose_swap,
    rotation_next,
    shifts_for,
    with_overrides,
)
from bot.roster.model import RosterError

TZ = ZoneInfo("Asia/Shanghai")

BASE = """
timezone = "Asia/Shanghai"
[members]
zhang = { name = "Zhang" }
li = { name = "Li" }
wang = { name = "Wang" }

[[layers]]
name = "office"
window = "office"
rotation = "weekly"
handoff = "09:00"
anchor = 2026-01-05
members = ["zhang", "li", "wang"]

[[layers]]
name = "after_hours"
window = "after_hours"
rotation = "monthly"
handoff = "08:00"
anchor = 2026-01-01
members = ["li", "wang", "zhang"]
"""


def roster(extra: str = "", base: str = BASE):
    return parse_roster(tomllib.loads(base + extra), "test.toml")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=TZ)


def who(r, when: str) -> dict[str, str]:
    return {a.layer: a.member for a in on_duty(r, at(when))}


def test_default_roster_loads() -> None:
    r = load_roster(DEFAULT_ROSTER)
    assert list(r.members) == ["zhang", "li", "wang"]
    assert all(m.role == "engineer" for m in r.members.values())
    assert [layer.name for layer in r.layers] == ["office", "after_hours"]


def test_working_day_office_vs_after_hours() -> None:
    r = roster()  # 2026-03-10 is a Tuesday; March: after_hours index 2 -> zhang
    assert who(r, "2026-03-10 08:30") == {"after_hours": "zhang"}
    assert list(who(r, "2026-03-10 12:00")) == ["office"]
    assert who(r, "2026-03-10 18:00") == {"after_hours": "zhang"}
    a = on_duty(r, at("2026-03-10 19:00"))[0]
    assert (a.start, a.end, a.reason) == (at("2026-03-10 18:00"), at("2026-03-10 22:30"), "rotation")


def test_weekend_and_public_holiday_all_day_after_hours() -> None:
    r = roster()
    assert who(r, "2026-03-07 12:00") == {"after_hours": "zhang"}  # Saturday
    day = on_duty(r, at("2026-10-01 12:00"))  # National Day, Thursday
    assert [(a.layer, a.start, a.end) for a in day] == [
        ("after_hours", at("2026-10-01 08:00"), at("2026-10-01 22:30"))]


def test_makeup_saturday_is_a_working_day() -> None:
    r = roster()  # 2026-02-14 (Sat) is a 调休 working day for Spring Festival
    assert set(who(r, "2026-02-14 12:00")) == {"office"}
    assert set(who(r, "2026-02-14 08:30")) == {"after_hours"}
    assert set(who(r, "2026-02-17 12:00")) == {"after_hours"}  # Spring Festival Tuesday


@pytest.mark.parametrize(("when", "staffed"), [
    ("2026-03-07 22:29", True), ("2026-03-07 22:30", False),
    ("2026-03-08 07:59", False), ("2026-03-08 08:00", True),
    ("2026-03-07 22:29:59.999999", True), ("2026-03-08 07:59:59", False),
])
def test_boundaries(when: str, staffed: bool) -> None:
    assert bool(on_duty(roster(), at(when))) is staffed


def test_month_end_handoff() -> None:
    """Handoff at 08:00 on the 1st: the new engineer owns the layer from 08:00 inclusive."""
    r = roster()  # Nov = index 10 -> wang, Dec = index 11 -> zhang
    assert who(r, "2026-11-30 22:29") == {"after_hours": "wang"}
    assert on_duty(r, at("2026-11-30 23:00")) == []
    assert who(r, "2026-12-01 08:00") == {"after_hours": "zhang"}
    h = next_handoffs(r, at("2026-11-30 23:00"), count=1)[0]
    assert (h.at, h.layer, h.from_member, h.to_member) == (at("2026-12-01 08:00"), "after_hours", "wang", "zhang")


def test_handoff_inside_a_window_splits_it() -> None:
    r = roster(base=BASE.replace('anchor = 2026-01-01', 'anchor = 2026-01-01\nhandoff = "12:00"')
               .replace('handoff = "08:00"\n', ""))
    segs = calendar_table(r, dt.date(2026, 8, 1), dt.date(2026, 8, 1))[0].assignments["after_hours"]
    assert [(s.member, s.start.hour, s.end.hour) for s in segs] == [("li", 8, 12), ("wang", 12, 22)]  # July li, August wang


@pytest.mark.parametrize(("rotation", "expect"), [
    ('rotation = "weekly"', {"2026-03-02 12:00": "a", "2026-03-08 12:00": "a", "2026-03-09 12:00": "b"}),
    ('rotation = "daily"', {"2026-03-02 12:00": "a", "2026-03-03 07:00": "a", "2026-03-03 12:00": "b",
                            "2026-03-04 12:00": "a"}),
    ('rotation = "every_n_days"\nevery_n_days = 3',
     {"2026-03-02 12:00": "a", "2026-03-04 12:00": "a", "2026-03-05 12:00": "b", "2026-02-27 12:00": "b"}),
])
def test_rotation_kinds(rotation: str, expect: dict[str, str]) -> None:
    text = f"""
[members]
a = "A"
b = "B"
[[layers]]
name = "duty"
window = "explicit"
windows = [{{ days = "all", start = "00:00", end = "24:00" }}]
{rotation}
handoff = "08:00"
anchor = 2026-03-02
members = ["a", "b"]
"""
    r = roster(base=text)
    for when, member in expect.items():
        assert who(r, when) == {"duty": member}, when


def test_rotation_next() -> None:
    r = roster()
    assert rotation_next(r, "after_hours", "li") == "wang"
    assert rotation_next(r, "after_hours", "zhang") == "li"
    with pytest.raises(RosterError):
        rotation_next(r, "after_hours", "nobody")


def test_override_covers_a_range() -> None:
    r = roster()  # March: zhang on after_hours
    o = make_override(r, "li", "zhang", at("2026-03-07 12:00"), dt.date(2026, 3, 8), layer="after_hours")
    assert o.end == at("2026-03-09 00:00")  # a bare end date is inclusive
    r2 = with_overrides(r, o)
    assert who(r2, "2026-03-07 10:00") == {"after_hours": "zhang"}
    a = on_duty(r2, at("2026-03-07 13:00"))[0]
    assert (a.member, a.reason, a.covers, a.start, a.end) == (
        "li", "override", "zhang", at("2026-03-07 12:00"), at("2026-03-07 22:30"))
    assert who(r2, "2026-03-08 20:00") == {"after_hours": "li"}
    assert who(r2, "2026-03-09 20:00") == {"after_hours": "zhang"}


def test_override_validation() -> None:
    r = roster()
    with pytest.raises(RosterError, match="cover themselves"):
        make_override(r, "li", "li", at("2026-03-01 08:00"), at("2026-03-02 08:00"))
    with pytest.raises(RosterError, match="end after"):
        make_override(r, "li", "zhang", at("2026-03-02 08:00"), at("2026-03-01 08:00"))
    with pytest.raises(RosterError, match="not a member"):
        make_override(r, "zhao", "zhang", at("2026-03-01 08:00"), at("2026-03-02 08:00"))


def test_accepted_swap_is_two_overrides() -> None:
    r = roster()  # March: zhang, April: li (after_hours)
    weekend_mar = (dt.date(2026, 3, 7), dt.date(2026, 3, 8))
    weekend_apr = (dt.date(2026, 4, 11), dt.date(2026, 4, 12))
    proposal = propose_swap(r, "zhang", weekend_mar, "li", weekend_apr, layer="after_hours")
    first, second = accept_swap(proposal)
    assert (first.member, first.covers) == ("li", "zhang")
    assert (second.member, second.covers) == ("zhang", "li")
    r2 = with_overrides(r, first, second)
    assert who(r2, "2026-03-07 12:00") == {"after_hours": "li"}
    assert who(r2, "2026-04-12 12:00") == {"after_hours": "zhang"}
    assert who(r2, "2026-04-13 20:00") == {"after_hours": "li"}
    with pytest.raises(RosterError, match="no duty"):
        propose_swap(r, "zhang", weekend_apr, "li", weekend_mar, layer="after_hours")
    with pytest.raises(RosterError, match="overlap"):
        propose_swap(r, "zhang", weekend_mar, "li", (dt.date(2026, 3, 8), dt.date(2026, 3, 9)))


def test_next_window_start() -> None:
    r = roster()
    assert next_window_start(r, at("2026-03-10 23:00")) == at("2026-03-11 08:00")
    assert next_window_start(r, at("2026-03-10 03:00")) == at("2026-03-10 08:00")
    assert next_window_start(r, at("2026-03-10 12:00")) == at("2026-03-10 12:00")
    assert next_window_start(r, at("2026-03-10 20:00"), layer="office") == at("2026-03-11 09:00")
    # aware datetimes in another zone are converted: 15:00 UTC = 23:00 Shanghai
    utc = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
    assert next_window_start(r, utc) == at("2026-03-11 08:00")
    with pytest.raises(ValueError, match="naive"):
        on_duty(r, dt.datetime(2026, 3, 10, 12))


def test_next_handoffs_across_layers() -> None:
    hs = next_handoffs(roster(), at("2026-03-10 12:00"), count=3)
    assert [(h.at, h.layer, h.from_member, h.to_member) for h in hs] == [
        (at("2026-03-16 09:00"), "office", "zhang", "li"),
        (at("2026-03-23 09:00"), "office", "li", "wang"),
        (at("2026-03-30 09:00"), "office", "wang", "zhang"),
    ]
    later = next_handoffs(roster(), at("2026-03-30 12:00"), count=2)
    assert [(h.at, h.layer) for h in later] == [(at("2026-04-01 08:00"), "after_hours"),
                                                (at("2026-04-06 09:00"), "office")]


def test_shifts_for_merges_blocks_per_day() -> None:
    r = roster()  # week of 2026-03-09: office index 9 -> zhang
    shifts = shifts_for(r, "zhang", at("2026-03-09 00:00"), at("2026-03-10 00:00"))
    assert [(s.start, s.end, s.layers) for s in shifts] == [
        (at("2026-03-09 08:00"), at("2026-03-09 22:30"), ("after_hours", "office"))]
    li = shifts_for(r, "li", at("2026-03-09 00:00"), at("2026-03-16 00:00"))
    assert li == []
    sat = shifts_for(r, "zhang", at("2026-03-07 10:00"), at("2026-03-08 09:00"))
    assert [(s.start, s.end) for s in sat] == [(at("2026-03-07 10:00"), at("2026-03-07 22:30")),
                                               (at("2026-03-08 08:00"), at("2026-03-08 09:00"))]


def test_calendar_table_rows() -> None:
    rows = calendar_table(roster(), dt.date(2026, 9, 30), dt.date(2026, 10, 1))
    assert [(r.day.date, r.day.kind, r.day.name) for r in rows] == [
        (dt.date(2026, 9, 30), "workday", None), (dt.date(2026, 10, 1), "holiday", "National Day")]
    assert rows[1].assignments["office"] == []
    assert [a.member for a in rows[1].assignments["after_hours"]] == ["li"]  # Oct: index 9 -> li
    assert len(rows[0].assignments["after_hours"]) == 2  # 08:00-09:00 and 18:00-22:30
