"""Cover overrides and shift swaps: validation, construction and a serialisable (dict) form."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot.roster.duty import shifts_for
from bot.roster.model import Override, Roster, RosterError

Moment = dt.date | dt.datetime | str


def to_datetime(value: Moment, tz: ZoneInfo, *, end: bool = False) -> dt.datetime:
    """Date/datetime/ISO string -> aware datetime in ``tz``.

    A bare date means its start (00:00); as an ``end`` it is inclusive, i.e. the next 00:00.
    Naive datetimes are taken as local time in ``tz``.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            value = dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
        except ValueError:
            raise RosterError(f"not an ISO date or datetime: {value!r}", code="bad_date", value=text) from None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)
    if isinstance(value, dt.date):
        day = value + dt.timedelta(days=1) if end else value
        return dt.datetime.combine(day, dt.time(), tzinfo=tz)
    raise RosterError(f"expected a date or datetime, got {type(value).__name__}")


def _check_member(roster: Roster, key: str, what: str) -> None:
    if key not in roster.members:
        raise RosterError(f"{what} {key!r} is not a member of the roster", code="not_member", key=key)


def make_override(
    roster: Roster,
    member: str,
    covers: str,
    start: Moment,
    end: Moment,
    layer: str | None = None,
    note: str = "",
) -> Override:
    """A validated cover override: ``member`` takes ``covers``'s duty in ``[start, end)``."""
    tz = ZoneInfo(roster.timezone)
    _check_member(roster, member, "member")
    _check_member(roster, covers, "covered member")
    if member == covers:
        raise RosterError(f"{member!r} cannot cover themselves", code="self_cover", key=member)
    if layer is not None:
        roster.layer(layer)
    begin, finish = to_datetime(start, tz), to_datetime(end, tz, end=True)
    if begin >= finish:
        raise RosterError(f"override must end after it starts ({begin.isoformat()} >= {finish.isoformat()})",
                          code="end_before_start")
    return Override(member, covers, begin, finish, layer, note)


def with_overrides(roster: Roster, *overrides: Override) -> Roster:
    """A copy of ``roster`` with ``overrides`` appended (later overrides win)."""
    return dataclasses.replace(roster, overrides=(*roster.overrides, *overrides))


@dataclass(frozen=True)
class SwapProposal:
    """``proposer`` takes ``partner``'s duty in ``take`` if ``partner`` takes the proposer's in ``give``."""

    proposer: str
    partner: str
    give: tuple[dt.datetime, dt.datetime]
    take: tuple[dt.datetime, dt.datetime]
    layer: str | None = None


def propose_swap(
    roster: Roster,
    proposer: str,
    give: tuple[Moment, Moment],
    partner: str,
    take: tuple[Moment, Moment],
    layer: str | None = None,
) -> SwapProposal:
    """Validate a swap: both ranges non-empty, disjoint, and each actually holds the owner's duty."""

    mine = make_override(roster, partner, proposer, *give, layer=layer)
    theirs = make_override(roster, proposer, partner, *take, layer=layer)
    if mine.start < theirs.end and theirs.start < mine.end:
        raise RosterError("the two ranges of a swap must not overlap", code="swap_overlap")
    for who, o in ((proposer, mine), (partner, theirs)):
        shifts = shifts_for(roster, who, o.start, o.end)
        if layer is not None:
            shifts = [s for s in shifts if layer in s.layers]
        if not shifts:
            raise RosterError(
                f"{who!r} has no duty between {o.start.isoformat()} and {o.end.isoformat()}",
                code="no_duty", key=who,
            )
    return SwapProposal(proposer, partner, (mine.start, mine.end), (theirs.start, theirs.end), layer)


def accept_swap(proposal: SwapProposal, note: str = "") -> tuple[Override, Override]:
    """The accepted swap as two overrides (partner covers ``give``, proposer covers ``take``)."""
    note = note or f"swap {proposal.proposer}<->{proposal.partner}"
    return (
        Override(proposal.partner, proposal.proposer, *proposal.give, proposal.layer, note),
        Override(proposal.proposer, proposal.partner, *proposal.take, proposal.layer, note),
    )


# --- serialisable form -----------------------------------------------------------------------


def override_to_dict(o: Override) -> dict[str, Any]:
    """JSON-friendly dict (ISO datetimes with offset)."""
    data: dict[str, Any] = {"member": o.member, "covers": o.covers,
                            "from": o.start.isoformat(), "to": o.end.isoformat()}
    if o.layer is not None:
        data["layer"] = o.layer
    if o.note:
        data["note"] = o.note
    return data


def override_from_dict(data: dict[str, Any], tz: ZoneInfo | str = "Asia/Shanghai") -> Override:
    """Inverse of ``override_to_dict``; also accepts TOML dates/datetimes. No roster checks."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    unknown = set(data) - {"member", "covers", "from", "to", "layer", "note"}
    if unknown:
        raise RosterError(f"unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("member", "covers", "from", "to"):
        if key not in data:
            raise RosterError(f"missing {key!r}")
    for key in ("member", "covers"):
        if not isinstance(data[key], str) or not data[key]:
            raise RosterError(f"{key!r} must be a member key (string)")
    start, end = to_datetime(data["from"], zone), to_datetime(data["to"], zone, end=True)
    if start >= end:
        raise RosterError("'from' must be before 'to'")
    if data["member"] == data["covers"]:
        raise RosterError(f"{data['member']!r} cannot cover themselves")
    return Override(data["member"], data["covers"], start, end, data.get("layer"), data.get("note", ""))


def swap_to_dict(p: SwapProposal) -> dict[str, Any]:
    """JSON-friendly dict of a pending swap proposal."""
    return {"proposer": p.proposer, "partner": p.partner, "layer": p.layer,
            "give": [t.isoformat() for t in p.give], "take": [t.isoformat() for t in p.take]}


def swap_from_dict(data: dict[str, Any]) -> SwapProposal:
    """Inverse of ``swap_to_dict``."""
    def pair(key: str) -> tuple[dt.datetime, dt.datetime]:
        a, b = (dt.datetime.fromisoformat(x) for x in data[key])
        return a, b

    return SwapProposal(data["proposer"], data["partner"], pair("give"), pair("take"), data.get("layer"))
