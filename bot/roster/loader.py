"""Load, validate and save roster TOML files (errors name the file, the key and the problem)."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.roster.model import (
    DAY_FILTERS,
    ROTATION_KINDS,
    WINDOW_KINDS,
    CalendarOverrides,
    ExplicitWindow,
    Holiday,
    Hours,
    Layer,
    Member,
    Roster,
    RosterError,
    fmt_minutes,
)
from bot.roster.overrides import override_from_dict, override_to_dict

DEFAULT_ROSTER = Path(__file__).with_name("default_roster.toml")


class _Ctx:
    """Error helper carrying the source name."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> RosterError:
        return RosterError(f"{self.source}: {key}: {problem}")

    def table(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {type(value).__name__}")
        return value

    def only(self, data: dict[str, Any], key: str, allowed: set[str]) -> None:
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.fail(key, f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"expected a non-empty string, got {value!r}")
        return value

    def clock(self, value: Any, key: str, *, allow_24: bool = False) -> int:
        """``"HH:MM"`` (or a TOML local time) -> minutes since midnight."""
        if isinstance(value, dt.time):
            return value.hour * 60 + value.minute
        text = self.string(value, key)
        try:
            hh, mm = (int(x) for x in text.split(":"))
        except ValueError:
            raise self.fail(key, f"expected HH:MM, got {text!r}") from None
        minutes = hh * 60 + mm
        top = 1440 if allow_24 else 1439
        if not (0 <= hh <= 24 and 0 <= mm < 60 and minutes <= top):
            raise self.fail(key, f"time out of range: {text!r}")
        return minutes

    def date(self, value: Any, key: str) -> dt.date:
        if isinstance(value, dt.datetime):
            raise self.fail(key, f"expected a date, got a datetime {value.isoformat()}")
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(key, f"expected a date (YYYY-MM-DD), got {value!r}")

    def items(self, value: Any, key: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(key, f"expected an array, got {type(value).__name__}")
        return value


def _parse_hours(ctx: _Ctx, raw: Any) -> Hours:
    data = ctx.table(raw, "hours")
    ctx.only(data, "hours", {"office_start", "office_end", "duty_start", "duty_end"})
    d = Hours()
    h = Hours(*(ctx.clock(data[k], f"hours.{k}", allow_24=k.endswith("end")) if k in data else getattr(d, k)
                for k in ("office_start", "office_end", "duty_start", "duty_end")))
    if h.office_start >= h.office_end:
        raise ctx.fail("hours", "office_start must be before office_end")
    if h.duty_start >= h.duty_end:
        raise ctx.fail("hours", "duty_start must be before duty_end")
    return h


def _parse_members(ctx: _Ctx, raw: Any) -> dict[str, Member]:
    members: dict[str, Member] = {}
    for key, value in ctx.table(raw, "members").items():
        where = f"members.{key}"
        if isinstance(value, str):
            value = {"name": value}
        data = ctx.table(value, where)
        ctx.only(data, where, {"name", "role", "phone"})
        fields = {k: ctx.string(data[k], f"{where}.{k}") for k in ("name", "role", "phone") if k in data}
        members[key] = Member(key, **fields)
    if not members:
        raise ctx.fail("members", "at least one member is required")
    return members


def _parse_window(ctx: _Ctx, raw: Any, where: str) -> ExplicitWindow:
    data = ctx.table(raw, where)
    ctx.only(data, where, {"days", "start", "end"})
    for k in ("start", "end"):
        if k not in data:
            raise ctx.fail(where, f"missing {k!r}")
    days = data.get("days", "all")
    if days not in DAY_FILTERS:
        raise ctx.fail(f"{where}.days", f"unknown {days!r} (expected {', '.join(DAY_FILTERS)})")
    start, end = ctx.clock(data["start"], f"{where}.start"), ctx.clock(data["end"], f"{where}.end", allow_24=True)
    if start >= end:
        raise ctx.fail(where, "start must be before end (windows cannot cross midnight; split them)")
    return ExplicitWindow(start, end, days)


_LAYER_KEYS = {"name", "window", "windows", "rotation", "every_n_days", "handoff", "anchor", "members", "category"}


def _parse_category(ctx: _Ctx, data: dict[str, Any], where: str, categories: Sequence[str] | None) -> str | None:
    """A layer's equipment category; one the policy does not list is refused."""
    if "category" not in data:
        return None
    category = ctx.string(data["category"], f"{where}.category")
    if categories is not None and category not in categories:
        raise ctx.fail(f"{where}.category",
                       f"unknown category {category!r} (the policy's dispatch.categories: {', '.join(categories)})")
    return category


def _parse_layer(
    ctx: _Ctx, raw: Any, where: str, members: dict[str, Member], categories: Sequence[str] | None = None
) -> Layer:
    data = ctx.table(raw, where)
    ctx.only(data, where, _LAYER_KEYS)
    name = ctx.string(data.get("name"), f"{where}.name")
    category = _parse_category(ctx, data, where, categories)
    window = data.get("window", "after_hours")
    if window not in WINDOW_KINDS:
        raise ctx.fail(f"{where}.window", f"unknown {window!r} (expected {', '.join(WINDOW_KINDS)})")
    windows = tuple(_parse_window(ctx, w, f"{where}.windows[{i}]")
                    for i, w in enumerate(ctx.items(data.get("windows", []), f"{where}.windows")))
    if window == "explicit" and not windows:
        raise ctx.fail(f"{where}.windows", "an explicit layer needs at least one window")
    if window != "explicit" and windows:
        raise ctx.fail(f"{where}.windows", f"only allowed with window = \"explicit\", not {window!r}")
    rotation = data.get("rotation", "monthly")
    if rotation not in ROTATION_KINDS:
        raise ctx.fail(f"{where}.rotation", f"unknown {rotation!r} (expected {', '.join(ROTATION_KINDS)})")
    n = data.get("every_n_days", 1)
    if rotation == "every_n_days" and "every_n_days" not in data:
        raise ctx.fail(f"{where}.every_n_days", "required when rotation = \"every_n_days\"")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ctx.fail(f"{where}.every_n_days", f"expected a positive integer, got {n!r}")
    anchor = ctx.date(data.get("anchor", "2026-01-01"), f"{where}.anchor")
    if rotation == "monthly" and anchor.day > 28:
        raise ctx.fail(f"{where}.anchor", "monthly rotation needs an anchor day of month <= 28")
    keys = ctx.items(data.get("members", []), f"{where}.members")
    if not keys:
        raise ctx.fail(f"{where}.members", "at least one member is required")
    for i, key in enumerate(keys):
        if key not in members:
            raise ctx.fail(f"{where}.members[{i}]", f"unknown member {key!r} (not in [members])")
    return Layer(name, tuple(keys), window, windows, rotation, n,
                 ctx.clock(data.get("handoff", "08:00"), f"{where}.handoff"), anchor, category)


def _parse_days(ctx: _Ctx, raw: Any, key: str) -> tuple[Holiday, ...]:
    out = []
    for i, item in enumerate(ctx.items(raw, key)):
        where = f"{key}[{i}]"
        if isinstance(item, dict):
            ctx.only(item, where, {"date", "name"})
            name = ctx.string(item["name"], f"{where}.name") if "name" in item else ""
            out.append(Holiday(ctx.date(item.get("date"), f"{where}.date"), name))
        else:
            out.append(Holiday(ctx.date(item, where)))
    return tuple(out)


def _parse_calendar(ctx: _Ctx, raw: Any) -> CalendarOverrides:
    data = ctx.table(raw, "calendar")
    ctx.only(data, "calendar", {"workdays", "holidays"})
    cal = CalendarOverrides(_parse_days(ctx, data.get("workdays", []), "calendar.workdays"),
                            _parse_days(ctx, data.get("holidays", []), "calendar.holidays"))
    both = {h.date for h in cal.workdays} & {h.date for h in cal.holidays}
    if both:
        raise ctx.fail("calendar", f"date(s) listed as both workday and holiday: "
                       f"{', '.join(sorted(d.isoformat() for d in both))}")
    return cal


def parse_roster(
    data: dict[str, Any], source: str = "<roster>", categories: Sequence[str] | None = None
) -> Roster:
    """Validate parsed TOML data into a Roster (RosterError naming source, key and problem).

    ``categories``: the policy's equipment categories; a layer's ``category`` must be one of them
    (not checked when None)."""
    ctx = _Ctx(source)
    ctx.only(data, "(top level)", {"timezone", "hours", "members", "layers", "overrides", "calendar"})
    tzname = data.get("timezone", "Asia/Shanghai")
    try:
        tz = ZoneInfo(ctx.string(tzname, "timezone"))
    except (ZoneInfoNotFoundError, ValueError):
        raise ctx.fail("timezone", f"unknown time zone {tzname!r}") from None
    if "members" not in data:
        raise ctx.fail("members", "missing [members] table")
    members = _parse_members(ctx, data["members"])
    layers = tuple(_parse_layer(ctx, raw, f"layers[{i}]", members, categories)
                   for i, raw in enumerate(ctx.items(data.get("layers", []), "layers")))
    if not layers:
        raise ctx.fail("layers", "at least one [[layers]] entry is required")
    names = [layer.name for layer in layers]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ctx.fail("layers", f"duplicate layer name(s): {', '.join(dupes)}")
    overrides = []
    for i, raw in enumerate(ctx.items(data.get("overrides", []), "overrides")):
        where = f"overrides[{i}]"
        try:
            o = override_from_dict(ctx.table(raw, where), tz)
        except RosterError as exc:
            raise ctx.fail(where, str(exc)) from None
        for key in ("member", "covers"):
            if getattr(o, key) not in members:
                raise ctx.fail(f"{where}.{key}", f"unknown member {getattr(o, key)!r}")
        if o.layer is not None and o.layer not in names:
            raise ctx.fail(f"{where}.layer", f"unknown layer {o.layer!r}")
        overrides.append(o)
    return Roster(members, layers, tz.key, _parse_hours(ctx, data.get("hours", {})), tuple(overrides),
                  _parse_calendar(ctx, data.get("calendar", {})), source)


def load_roster(path: str | Path = DEFAULT_ROSTER, categories: Sequence[str] | None = None) -> Roster:
    """Read and validate a roster TOML file (layer categories against ``categories`` if given)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RosterError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RosterError(f"{path}: invalid TOML: {exc}") from None
    return parse_roster(data, str(path), categories)


# --- writing -------------------------------------------------------------------------------


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False)


def _days_toml(days: tuple[Holiday, ...]) -> str:
    return _toml([{"date": h.date, "name": h.name} if h.name else h.date for h in days])


def dump_roster(roster: Roster) -> str:
    """Serialise a Roster back to TOML (round-trips through ``parse_roster``)."""
    lines: list[str] = [f"timezone = {_toml(roster.timezone)}", "", "[hours]"]
    lines += [f"{k} = {_toml(fmt_minutes(getattr(roster.hours, k)))}"
              for k in ("office_start", "office_end", "duty_start", "duty_end")]
    lines += ["", "[members]"]
    for m in roster.members.values():
        fields: dict[str, str] = {k: getattr(m, k) for k in ("name", "role", "phone") if getattr(m, k)}
        lines.append(f"{m.key} = {_toml(fields)}")
    for layer in roster.layers:
        lines += ["", "[[layers]]", f"name = {_toml(layer.name)}", f"window = {_toml(layer.window)}"]
        if layer.windows:
            lines.append("windows = " + _toml([{"days": w.days, "start": fmt_minutes(w.start),
                                                 "end": fmt_minutes(w.end)} for w in layer.windows]))
        lines.append(f"rotation = {_toml(layer.rotation)}")
        if layer.rotation == "every_n_days":
            lines.append(f"every_n_days = {layer.every_n_days}")
        lines += [f"handoff = {_toml(fmt_minutes(layer.handoff))}", f"anchor = {_toml(layer.anchor)}",
                  f"members = {_toml(list(layer.members))}"]
        if layer.category is not None:
            lines.append(f"category = {_toml(layer.category)}")
    for o in roster.overrides:
        lines += ["", "[[overrides]]"]
        lines += [f"{k} = {_toml(v)}" for k, v in override_to_dict(o).items()]
    if roster.calendar.workdays or roster.calendar.holidays:
        lines += ["", "[calendar]", f"workdays = {_days_toml(roster.calendar.workdays)}",
                  f"holidays = {_days_toml(roster.calendar.holidays)}"]
    return "\n".join(lines) + "\n"


def save_roster(roster: Roster, path: str | Path) -> None:
    """Write ``roster`` as TOML to ``path``."""
    Path(path).write_text(dump_roster(roster), encoding="utf-8")
