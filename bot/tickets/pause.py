"""Pause states (issue 14): the holding engineer stops a ticket's SLA clock while waiting for the
customer or for parts/payment; the customer is told. The engineer's Resume, or the customer's next
message to the ticket, starts it again: each due time still ahead keeps the service time it had
left (``bot.dispatch.sla.shift_for_pause``) and the SLA watch gets fresh timers; the paused
wall-clock time adds up in ``Ticket.paused_seconds`` (``/ticket``, the export).

Each change is one conditional UPDATE, so of a Resume press and a customer reply only one resumes.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import uow as uow_mod
from bot.core.notify import tell
from bot.dispatch import cards, sla, sla_watch
from bot.tickets import lifecycle as tickets
from bot.tickets import links
from storage.db import rowcount
from storage.models import Staff, Ticket, TicketEvent

if TYPE_CHECKING:
    from bot.desk import Desk

PAUSE_REASONS = ("customer", "parts")
PAUSABLE = ("acknowledged", "in_progress", "reopened")

PauseOutcome = Literal["paused", "already", "not_yours"]


async def waiting_for(session: AsyncSession, user_id: int) -> Ticket | None:
    """The reporter's newest open ticket paused waiting for them (their next message answers it)."""
    return await session.scalar(
        select(Ticket).where(
            Ticket.reporter_user_id == user_id, Ticket.paused_at.is_not(None), Ticket.pause_reason == "customer",
            Ticket.status.in_(PAUSABLE),
        ).order_by(Ticket.paused_at.desc()).limit(1)
    )


async def pause(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, staff: Staff, reason: str) -> PauseOutcome:
    """The holder pauses ``ticket`` (``reason``: customer/parts); the customer is told."""
    if reason not in PAUSE_REASONS or ticket.assignee_id != staff.id or ticket.status not in PAUSABLE:
        return "not_yours"
    won = await uow.session.execute(
        update(Ticket).where(
            Ticket.id == ticket.id, Ticket.assignee_id == staff.id, Ticket.paused_at.is_(None),
            Ticket.status.in_(PAUSABLE),
        ).values(paused_at=uow.now, pause_reason=reason).execution_options(synchronize_session=False)
    )
    await uow.session.refresh(ticket)
    if rowcount(won) != 1:
        return "already" if ticket.paused_at is not None else "not_yours"
    tickets.record(uow.session, ticket, "paused", tickets.Actor("staff", staff.id), uow.now,
                   data={"reason": reason, "by": staff.key})
    await links.tell_reporters(
        uow, ticket, f"work/text#paused_{reason}", default_locale=desk.settings.default_locale,
        priority=uow_mod.PRIORITY_NOTICE, ref=f"ticket:{ticket.id}", number=ticket.number,
    )
    await _refresh_card(uow, desk, ticket)
    return "paused"


async def resume(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, actor: tickets.Actor) -> dt.timedelta | None:
    """End the running pause of ``ticket``: due times move on by the paused service time, the SLA
    watch is rescheduled, the card shows Pause again. Returns how long it was paused (None: it
    was not paused, or a concurrent resume won)."""
    since = ticket.paused_at
    if since is None:
        return None
    now = uow.now
    paused = now - since
    won = await uow.session.execute(
        update(Ticket).where(Ticket.id == ticket.id, Ticket.paused_at == since)
        .values(paused_at=None, pause_reason=None,
                paused_seconds=Ticket.paused_seconds + int(paused.total_seconds()))
        .execution_options(synchronize_session=False)
    )
    await uow.session.refresh(ticket)
    if rowcount(won) != 1:
        return None
    sla.shift_for_pause(desk, ticket, since, now)
    tickets.record(uow.session, ticket, "resumed", actor, now, data={"paused_s": int(paused.total_seconds())})
    pauses = await uow.session.scalar(
        select(func.count(TicketEvent.id)).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "paused")
    )
    await sla_watch.rewatch_after_pause(uow, desk, ticket, int(pauses or 0))
    if ticket.status in tickets.OPEN_STATES:
        await _refresh_card(uow, desk, ticket)
    return paused


async def resume_by_engineer(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, staff: Staff) -> dt.timedelta | None:
    """The holder's Resume: the clock runs again and the customer hears that work continues."""
    if ticket.assignee_id != staff.id:
        return None
    paused = await resume(uow, desk, ticket, tickets.Actor("staff", staff.id))
    if paused is not None:
        await links.tell_reporters(
            uow, ticket, "work/text#resumed_customer", default_locale=desk.settings.default_locale,
            priority=uow_mod.PRIORITY_NOTICE, ref=f"ticket:{ticket.id}", number=ticket.number,
        )
    return paused


async def resume_by_customer(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket) -> None:
    """The customer wrote to a paused ticket: the clock runs again and the holder is told."""
    paused = await resume(uow, desk, ticket, tickets.Actor("customer", ticket.reporter_user_id))
    if paused is None:
        return
    holder = await uow.session.get(Staff, ticket.assignee_id) if ticket.assignee_id else None
    if holder is not None and holder.telegram_user_id is not None:
        await tell(
            uow, holder.telegram_user_id, "work/text#resumed_by_customer",
            default_locale=desk.settings.default_locale, priority=uow_mod.PRIORITY_NOTICE,
            number=ticket.number, minutes=round(paused.total_seconds() / 60),
        )


async def _refresh_card(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket) -> None:
    """The holder's card shows the pause (or not) and the matching Pause/Resume buttons."""
    holder = await uow.session.get(Staff, ticket.assignee_id) if ticket.assignee_id else None
    if holder is None or holder.telegram_user_id is None:
        return
    await cards.edit_cards(uow, desk, ticket, "taken", holder.name, keep_for=holder.telegram_user_id,
                           only=holder.telegram_user_id)
