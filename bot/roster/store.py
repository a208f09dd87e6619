"""Covers and swaps made in chat, stored in the database (``roster_overrides``).

The rest of ``bot.roster`` is pure; this module is the thin storage side used by the chat
commands ``/cover`` and ``/swap``. ``bot.dispatch.routing.effective_roster`` adds the active rows to the
roster file's own overrides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.roster.model import Override, Roster, RosterError
from bot.roster.overrides import make_override, propose_swap, to_datetime
from storage.models import RosterOverride

MAX_SPAN = dt.timedelta(days=92)


def parse_range(text: str, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """``2026-12-01`` (that whole day) or ``2026-12-01..2026-12-03`` (inclusive dates) or
    ``2026-12-01T18:00..2026-12-02T08:00`` (half-open datetimes) → (start, end)."""
    first, sep, last = text.strip().partition("..")
    start = to_datetime(first, tz)
    end = to_datetime(last if sep else first, tz, end=True)
    if start >= end:
        raise RosterError(f"{text}: the end must be after the start", code="end_before_start")
    if end - start > MAX_SPAN:
        raise RosterError(f"{text}: at most {MAX_SPAN.days} days at a time", code="too_long", days=MAX_SPAN.days)
    return start, end


async def add_cover(
    session: AsyncSession, roster: Roster, member: str, covers: str, span: tuple[dt.datetime, dt.datetime],
    now: dt.datetime, by: str,
) -> RosterOverride:
    """``member`` covers ``covers``'s duty during ``span`` (validated against the roster)."""
    override = make_override(roster, member, covers, span[0], span[1])
    if override.end <= now:
        raise RosterError("that period is already over", code="over")
    row = RosterOverride(
        member=member, covers=covers, starts_at=override.start, ends_at=override.end, kind="cover",
        status="active", created_at=now, created_by=by, data={},
    )
    session.add(row)
    await session.flush()
    return row


async def add_swap_proposal(
    session: AsyncSession, roster: Roster, proposer: str, partner: str,
    give: tuple[dt.datetime, dt.datetime], take: tuple[dt.datetime, dt.datetime], now: dt.datetime,
) -> RosterOverride:
    """A proposed swap: ``partner`` takes the proposer's duty in ``give``, the proposer theirs in
    ``take``. Stored as one ``proposed`` row until the partner accepts."""
    proposal = propose_swap(roster, proposer, give, partner, take)
    if min(proposal.give[0], proposal.take[0]) <= now:
        raise RosterError("a swap can only move duty that has not started yet", code="started")
    row = RosterOverride(
        member=partner, covers=proposer, starts_at=proposal.give[0], ends_at=proposal.give[1], kind="swap",
        status="proposed", created_at=now, created_by=proposer,
        data={"take": [proposal.take[0].isoformat(), proposal.take[1].isoformat()]},
    )
    session.add(row)
    await session.flush()
    return row


@dataclass
class SwapAnswer:
    """Outcome of pressing Accept / Decline on a swap proposal."""

    ok: bool
    reason: str  # accepted|declined|not_yours|gone|started
    proposal: RosterOverride | None = None


async def answer_swap(
    session: AsyncSession, proposal_id: int, partner: str, accept: bool, now: dt.datetime
) -> SwapAnswer:
    """The partner accepts (→ two active overrides) or declines a proposed swap."""
    row = await session.get(RosterOverride, proposal_id)
    if row is None or row.kind != "swap":
        return SwapAnswer(False, "gone")
    if row.member != partner:
        return SwapAnswer(False, "not_yours", row)
    if row.status != "proposed":
        return SwapAnswer(False, "gone", row)
    take = [dt.datetime.fromisoformat(x) for x in (row.data or {}).get("take", [])]
    if accept and (row.starts_at <= now or (take and take[0] <= now)):
        row.status = "expired"
        return SwapAnswer(False, "started", row)
    if not accept:
        row.status = "rejected"
        return SwapAnswer(True, "declined", row)
    row.status = "active"
    session.add(RosterOverride(
        member=row.covers, covers=row.member, starts_at=take[0], ends_at=take[1], kind="swap",
        status="active", created_at=now, created_by=partner, data={"pair": row.id},
    ))
    return SwapAnswer(True, "accepted", row)


async def current_overrides(session: AsyncSession, now: dt.datetime) -> list[RosterOverride]:
    """Active and proposed covers/swaps that have not ended yet."""
    rows = await session.scalars(
        select(RosterOverride)
        .where(RosterOverride.status.in_(("active", "proposed")), RosterOverride.ends_at > now)
        .order_by(RosterOverride.starts_at, RosterOverride.id)
    )
    return list(rows.all())


async def cancel_override(session: AsyncSession, override_id: int) -> RosterOverride:
    """Withdraw a cover (or a swap, both halves)."""
    row = await session.get(RosterOverride, override_id)
    if row is None or row.status not in ("active", "proposed"):
        raise RosterError(f"no current cover or swap #{override_id}", code="no_override", id=override_id)
    row.status = "cancelled"
    pair = (row.data or {}).get("pair")
    others = await session.scalars(select(RosterOverride).where(RosterOverride.kind == "swap"))
    for other in others.all():
        if other.id == pair or (other.data or {}).get("pair") == row.id:
            other.status = "cancelled"
    return row


def span_text(start: dt.datetime, end: dt.datetime, tz: dt.tzinfo) -> str:
    """``12-01 00:00 – 12-04 00:00`` in the desk's zone."""
    return f"{start.astimezone(tz):%m-%d %H:%M} – {end.astimezone(tz):%m-%d %H:%M}"


async def stored_overrides(session: AsyncSession, since: dt.datetime) -> tuple[Override, ...]:
    """The active covers and accepted swaps that end after ``since``, oldest first (later win)."""
    rows = await session.scalars(
        select(RosterOverride)
        .where(RosterOverride.status == "active", RosterOverride.ends_at > since)
        .order_by(RosterOverride.id)
    )
    return tuple(Override(r.member, r.covers, r.starts_at, r.ends_at, None, r.kind) for r in rows.all())
