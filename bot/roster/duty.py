"""Who is on duty: pure functions over a Roster and timezone-aware datetimes.

Conventions: every window and range is half-open ``[start, end)``. A rotation handoff at
``T`` means the new member owns the layer from ``T`` inclusive; at ``T - ε`` the old one does.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.roster.calendar import day_info
from bot.roster.model import (
    Assignment,
    CalendarRow,
    DayInfo,
    Handoff,
    Layer,
    Roster,
    RosterError,
    Shift,
)

_EPS = dt.timedelta(microseconds=1)
_SEARCH_DAYS = 400


def tz_of(roster: Roster) -> ZoneInfo:
    """The roster's time zone."""
    return ZoneInfo(roster.timezone)


def _local(roster: Roster, at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()} — pass a timezone-aware datetime")
    return at.astimezone(tz_of(roster))


def _at_minutes(roster: Roster, day: dt.date, minutes: int) -> dt.datetime:
    tz = tz_of(roster)
    if minutes >= 1440:
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=tz)


# --- windows -------------------------------------------------------------------------------


def _window_minutes(roster: Roster, layer: Layer, info: DayInfo) -> list[tuple[int, int]]:
    h = roster.hours
    if layer.window == "office":
        return [(h.office_start, h.office_end)] if info.is_workday else []
    if layer.window == "after_hours":
        if not info.is_workday:
            return [(h.duty_start, h.duty_end)]
        parts = [(h.duty_start, min(h.duty_end, h.office_start)),
                 (max(h.duty_start, h.office_end), h.duty_end)]
        return [(a, b) for a, b in parts if a < b]
    wanted = "workday" if info.is_workday else "rest"
    return sorted((w.start, w.end) for w in layer.windows if w.days in ("all", wanted))


def layer_windows(roster: Roster, layer: Layer, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """The windows during which ``layer`` is staffed on local date ``day``."""
    info = day_info(day, roster.calendar)
    return [(_at_minutes(roster, day, a), _at_minutes(roster, day, b))
            for a, b in _window_minutes(roster, layer, info)]


# --- rotation ------------------------------------------------------------------------------


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return day.replace(year=index // 12, month=index % 12 + 1)


def _period_length(layer: Layer) -> int:
    return {"weekly": 7, "daily": 1}.get(layer.rotation, layer.every_n_days)


def period_index(roster: Roster, layer: Layer, at: dt.datetime) -> int:
    """Index of the rotation period containing ``at`` (0 = the period starting at the anchor)."""
    local = _local(roster, at)
    minutes = local.hour * 60 + local.minute
    before_handoff = minutes < layer.handoff
    anchor = layer.anchor
    if layer.rotation == "monthly":
        k = (local.year - anchor.year) * 12 + local.month - anchor.month
        if local.day < anchor.day or (local.day == anchor.day and before_handoff):
            k -= 1
        return k
    days = (local.date() - anchor).days - (1 if before_handoff else 0)
    return days // _period_length(layer)


def period_start(roster: Roster, layer: Layer, index: int) -> dt.datetime:
    """Start (handoff instant) of rotation period ``index``."""
    if layer.rotation == "monthly":
        day = _add_months(layer.anchor, index)
    else:
        day = layer.anchor + dt.timedelta(days=index * _period_length(layer))
    return _at_minutes(roster, day, layer.handoff)


def rotation_member(roster: Roster, layer: Layer, at: dt.datetime) -> str:
    """The member the rotation alone puts on ``layer`` at ``at`` (overrides ignored)."""
    return layer.members[period_index(roster, layer, at) % len(layer.members)]


def rotation_next(roster: Roster, layer: str, member: str) -> str:
    """The engineer after ``member`` in ``layer``'s rotation order (wraps around)."""
    members = roster.layer(layer).members
    if member not in members:
        raise RosterError(f"{roster.source}: {member!r} is not in layer {layer!r}")
    return members[(members.index(member) + 1) % len(members)]


# --- ownership with overrides --------------------------------------------------------------


def _owner(roster: Roster, layer: Layer, at: dt.datetime) -> tuple[str, str, str | None]:
    member = rotation_member(roster, layer, at)
    reason, covers = "rotation", None
    for o in roster.overrides:
        if o.layer not in (None, layer.name) or o.covers != member:
            continue
        if o.start <= at < o.end:
            member, reason, covers = o.member, "override", o.covers
    return member, reason, covers


def segments(roster: Roster, layer: Layer, start: dt.datetime, end: dt.datetime) -> list[Assignment]:
    """Split ``[start, end)`` of ``layer`` into stretches with one owner each."""
    if start >= end:
        return []
    points = {start, end}
    first, last = period_index(roster, layer, start), period_index(roster, layer, end - _EPS)
    points.update(period_start(roster, layer, k) for k in range(first + 1, last + 1))
    for o in roster.overrides:
        if o.layer in (None, layer.name):
            points.update(t for t in (o.start, o.end) if start < t < end)
    ordered = sorted(points)
    out: list[Assignment] = []
    for a, b in zip(ordered, ordered[1:], strict=False):
        member, reason, covers = _owner(roster, layer, a)
        prev = out[-1] if out else None
        if prev and (prev.member, prev.reason, prev.covers) == (member, reason, covers):
            out[-1] = Assignment(layer.name, member, prev.start, b, prev.reason, covers)
        else:
            out.append(Assignment(layer.name, member, a, b, reason, covers))  # type: ignore[arg-type]
    return out


def day_assignments(roster: Roster, layer: Layer, day: dt.date) -> list[Assignment]:
    """All owner stretches of ``layer`` on local date ``day``."""
    return [seg for ws, we in layer_windows(roster, layer, day) for seg in segments(roster, layer, ws, we)]


# --- public queries ------------------------------------------------------------------------


def on_duty(roster: Roster, at: dt.datetime) -> list[Assignment]:
    """Assignments active at ``at`` (one per staffed layer); empty when nobody is on duty."""
    local = _local(roster, at)
    found = []
    for layer in roster.layers:
        for seg in day_assignments(roster, layer, local.date()):
            if seg.start <= local < seg.end:
                found.append(seg)
    return found


def next_window_start(roster: Roster, after: dt.datetime, layer: str | None = None) -> dt.datetime | None:
    """Earliest instant ``>= after`` at which someone (in ``layer``, if given) is on duty.

    Returns ``after`` itself when someone is on duty already; None if nobody is within ~a year.
    """
    local = _local(roster, after)
    layers = [roster.layer(layer)] if layer else list(roster.layers)
    for offset in range(_SEARCH_DAYS):
        day = local.date() + dt.timedelta(days=offset)
        starts = [max(ws, local) for lay in layers for ws, we in layer_windows(roster, lay, day) if we > local]
        if starts:
            return min(starts)
    return None


def next_handoffs(roster: Roster, after: dt.datetime, count: int = 3) -> list[Handoff]:
    """The next ``count`` rotation handoffs strictly after ``after``, across layers, in time order."""
    local = _local(roster, after)
    found: list[Handoff] = []
    for layer in roster.layers:
        if len(set(layer.members)) < 2:
            continue
        k = period_index(roster, layer, local) + 1
        taken = 0
        while taken < count:
            before = layer.members[(k - 1) % len(layer.members)]
            now = layer.members[k % len(layer.members)]
            if before != now:
                found.append(Handoff(period_start(roster, layer, k), layer.name, before, now))
                taken += 1
            k += 1
    found.sort(key=lambda h: (h.at, h.layer))
    return found[:count]


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def shifts_for(roster: Roster, member: str, start: dt.datetime, end: dt.datetime) -> list[Shift]:
    """``member``'s duty within ``[start, end)``, consecutive windows merged per day."""
    lo, hi = _local(roster, start), _local(roster, end)
    if lo >= hi:
        return []
    shifts: list[Shift] = []
    for day in _days(lo.date(), hi.date()):
        pieces = sorted(
            (max(seg.start, lo), min(seg.end, hi), seg.layer)
            for layer in roster.layers
            for seg in day_assignments(roster, layer, day)
            if seg.member == member and seg.start < hi and seg.end > lo
        )
        day_shifts: list[Shift] = []
        for a, b, name in pieces:
            prev = day_shifts[-1] if day_shifts else None
            if prev and a <= prev.end:
                layers = prev.layers if name in prev.layers else (*prev.layers, name)
                day_shifts[-1] = Shift(prev.start, max(prev.end, b), layers)
            else:
                day_shifts.append(Shift(a, b, (name,)))
        shifts.extend(day_shifts)
    return shifts


def upcoming_shifts(roster: Roster, member: str, now: dt.datetime, days: int) -> list[Shift]:
    """``member``'s whole shifts on the ``days`` local dates from today that have not ended.

    Unlike ``shifts_for(now, now + days)``, no shift is cut: one under way keeps its real start
    and the horizon is a midnight, so the last day is not clipped at the time of asking.
    """
    today = _local(roster, now).date()
    start = _at_minutes(roster, today, 0)
    end = _at_minutes(roster, today + dt.timedelta(days=days), 0)
    return [s for s in shifts_for(roster, member, start, end) if s.end > now]


def calendar_table(roster: Roster, start_date: dt.date, end_date: dt.date) -> list[CalendarRow]:
    """One row per local date in ``[start_date, end_date]`` with the day kind and assignments."""
    return [
        CalendarRow(
            day_info(day, roster.calendar),
            {layer.name: day_assignments(roster, layer, day) for layer in roster.layers},
        )
        for day in _days(start_date, end_date)
    ]
