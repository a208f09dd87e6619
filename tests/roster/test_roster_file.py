"""Roster file: loading, validation errors (file, key, problem), round trip, dict forms, CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli.roster import main
from bot.roster import (
    DEFAULT_ROSTER,
    dump_roster,
    load_roster,
    make_override,
    override_from_dict,
    override_to_dict,
    parse_roster,
    with_overrides,
)
from bot.roster.model import RosterError
from bot.roster.overrides import accept_swap, propose_swap, swap_from_dict, swap_to_dict

TZ = ZoneInfo("Asia/Shanghai")

GOOD = """
timezone = "Asia/Shanghai"
[hours]
office_start = "08:30"
office_end = "17:30"
[members]
zhang = { name = "Zhang", phone = "123" }
li = "Li"
[[layers]]
name = "after_hours"
rotation = "every_n_days"
every_n_days = 3
anchor = 2026-03-01
members = ["zhang", "li"]
[[layers]]
name = "backup"
window = "explicit"
windows = [{ days = "rest", start = "10:00", end = "16:00" }]
rotation = "weekly"
members = ["li"]
[[overrides]]
member = "li"
covers = "zhang"
from = 2026-03-02T08:00:00
to = 2026-03-03
layer = "after_hours"
[calendar]
workdays = [2026-03-07]
holidays = [2026-03-10, { date = 2026-03-11, name = "Company day" }]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_and_round_trip(tmp_path: Path) -> None:
    r = load_roster(write(tmp_path, GOOD))
    assert r.hours.office_start == 8 * 60 + 30 and r.hours.duty_end == 22 * 60 + 30
    assert r.members["li"].name == "Li" and r.members["zhang"].phone == "123"
    o = r.overrides[0]
    assert (o.start, o.end) == (dt.datetime(2026, 3, 2, 8, tzinfo=TZ), dt.datetime(2026, 3, 4, tzinfo=TZ))
    again = load_roster(write(tmp_path, dump_roster(r)))
    assert (again.layers, again.overrides, again.calendar, again.hours, again.members) == (
        r.layers, r.overrides, r.calendar, r.hours, r.members)


@pytest.mark.parametrize(("old", "new", "message"), [
    ('rotation = "weekly"', 'rotation = "yearly"', "layers[1].rotation: unknown 'yearly'"),
    ('members = ["li"]', 'members = ["li", "zhao"]', "layers[1].members[1]: unknown member 'zhao'"),
    ('every_n_days = 3\n', "", "layers[0].every_n_days: required"),
    ('office_end = "17:30"', 'office_end = "07:30"', "hours: office_start must be before office_end"),
    ('office_end = "17:30"', 'office_end = "25:00"', "hours.office_end: time out of range"),
    ('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"', "timezone: unknown time zone"),
    ('to = 2026-03-03', 'to = 2026-03-01', "overrides[0]: 'from' must be before 'to'"),
    ('covers = "zhang"', 'covers = "li"', "overrides[0]: 'li' cannot cover themselves"),
    ('covers = "zhang"', 'covers = "zhao"', "overrides[0].covers: unknown member 'zhao'"),
    ('start = "10:00", end = "16:00"', 'start = "16:00", end = "10:00"', "layers[1].windows[0]: start must be before end"),
    ('workdays = [2026-03-07]', 'workdays = [2026-03-10]', "calendar: date(s) listed as both"),
    ('name = "backup"', 'name = "after_hours"', "layers: duplicate layer name(s): after_hours"),
    ('[hours]', 'colour = "red"\n[hours]', "(top level): unknown key(s) colour"),
    ('anchor = 2026-03-01', 'anchor = "March"', "layers[0].anchor: expected a date"),
])
def test_validation_errors_name_file_key_and_problem(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(RosterError) as err:
        load_roster(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_unreadable_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="cannot read"):
        load_roster(tmp_path / "missing.toml")
    with pytest.raises(RosterError, match="invalid TOML"):
        load_roster(write(tmp_path, "members = ["))


def test_monthly_anchor_day_limit() -> None:
    data = {"members": {"a": "A"}, "layers": [{"name": "x", "anchor": dt.date(2026, 1, 31), "members": ["a"]}]}
    with pytest.raises(RosterError, match="<= 28"):
        parse_roster(data, "f.toml")


def test_override_and_swap_dict_forms() -> None:
    r = load_roster(DEFAULT_ROSTER)
    o = make_override(r, "wang", "li", "2026-01-10", "2026-01-11", layer="after_hours", note="sick")
    data = override_to_dict(o)
    assert data == {"member": "wang", "covers": "li", "from": "2026-01-10T00:00:00+08:00",
                    "to": "2026-01-12T00:00:00+08:00", "layer": "after_hours", "note": "sick"}
    assert override_from_dict(json.loads(json.dumps(data))) == o
    p = propose_swap(r, "li", ("2026-01-10", "2026-01-10"), "wang", ("2026-02-07", "2026-02-07"))
    assert swap_from_dict(json.loads(json.dumps(swap_to_dict(p)))) == p
    r2 = with_overrides(r, *accept_swap(p))
    assert [(o.member, o.covers) for o in r2.overrides] == [("wang", "li"), ("li", "wang")]


def test_cli_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["roster", "show", "--from", "2026-10-01", "--to", "2026-10-02"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "National Day" in out[0] and "after_hours: li 08:00-22:30" in out[0]
    assert main(["roster", "show", "--from", "2040-01-01", "--to", "2040-01-01", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)[0]["calendar_source"] == "rule"  # past chinesecalendar: the statutory rule
    assert "2040" in captured.err
    bad = write(tmp_path, "members = {}")
    assert main(["roster", "show", "--file", str(bad), "--from", "2026-01-01", "--to", "2026-01-01"]) == 2
    assert str(bad) in capsys.readouterr().err
