"""Dispatch to the on-duty engineer, acknowledgement and the escalation chain (no Telegram).

* ``dispatch(uow, desk, ticket)`` sends the ticket to whoever the roster puts on duty now, or
  queues it (a timer) until the next duty window opens.
* Each dispatch starts an ack timer; each time it fires the chain climbs one step:
  reminder → next engineer in the rotation → all supervisors. Any acknowledgement cancels it.
* ``acknowledge`` is one conditional UPDATE: when two engineers press at once, exactly one wins.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from bot import tickets, timers
from bot import uow as uow_mod
from bot.i18n import render
from bot.notify import active_staff, locale_of, staff_by_key, tell
from storage.models import RosterOverride, Staff, Ticket

ACK_STAGES = ("remind", "next_engineer", "supervisors")
DISPATCHABLE = ("new", "reopened", "dispatched")


def ack_timeout(desk: Any) -> dt.timedelta:
    """The acknowledgement timeout from the policy file."""
    return dt.timedelta(minutes=desk.policy.dispatch.ack_timeout_minutes)


async def effective_roster(uow: uow_mod.UnitOfWork, desk: Any) -> Any:
    """The roster file plus the covers and accepted swaps stored in the database."""
    from bot.roster.model import Override

    rows = (
        await uow.session.scalars(
            select(RosterOverride).where(
                RosterOverride.status == "active", RosterOverride.ends_at > uow.now
            )
        )
    ).all()
    if not rows:
        return desk.roster
    extra = tuple(Override(member=r.member, covers=r.covers, start=r.starts_at, end=r.ends_at) for r in rows)
    return dataclasses.replace(desk.roster, overrides=desk.roster.overrides + extra)


@dataclass
class DispatchOutcome:
    """Where a ticket went: an engineer now, or a queue until ``pickup_at``."""

    engineer: Staff | None
    pickup_at: dt.datetime | None


async def on_duty_engineer(uow: uow_mod.UnitOfWork, desk: Any) -> tuple[Staff | None, str | None]:
    """The active engineer on duty now and the layer, or (None, None)."""
    from bot.roster.duty import on_duty

    roster = await effective_roster(uow, desk)
    for assignment in on_duty(roster, uow.now):
        staff = await staff_by_key(uow.session, assignment.member)
        if staff is not None and staff.active:
            return staff, assignment.layer
    return None, None


async def dispatch(uow: uow_mod.UnitOfWork, desk: Any, ticket: Ticket) -> DispatchOutcome:
    """Send ``ticket`` to the engineer on duty, or queue it for the next duty window."""
    from bot.roster.duty import next_window_start

    engineer, layer = await on_duty_engineer(uow, desk)
    if engineer is None:
        roster = await effective_roster(uow, desk)
        pickup = next_window_start(roster, uow.now)
        if pickup is None:  # no duty window at all: supervisors must know now
            await _alert_supervisors(uow, desk, ticket, "dispatch/text#no_roster")
            return DispatchOutcome(None, None)
        timers.schedule(
            uow.session, "dispatch", f"dispatch:{ticket.id}:{int(pickup.timestamp())}", pickup,
            {"ticket_id": ticket.id},
        )
        tickets.record(uow.session, ticket, "queued", tickets.SYSTEM, uow.now, data={"until": pickup.isoformat()})
        return DispatchOutcome(None, pickup)
    await send_to(uow, desk, ticket, engineer, layer=layer, stage=0)
    return DispatchOutcome(engineer, None)


async def send_to(
    uow: uow_mod.UnitOfWork, desk: Any, ticket: Ticket, engineer: Staff, *, layer: str | None, stage: int,
    reason: str | None = None,
) -> None:
    """Dispatch message with buttons to ``engineer``; ticket → dispatched; ack timer started."""
    if ticket.status != "dispatched":
        tickets.transition(
            uow.session, ticket, "dispatched", tickets.SYSTEM, uow.now,
            data={"to": engineer.key, "layer": layer, "stage": stage, "reason": reason},
        )
    else:
        tickets.record(
            uow.session, ticket, "dispatched", tickets.SYSTEM, uow.now,
            data={"to": engineer.key, "layer": layer, "stage": stage, "reason": reason},
        )
    if ticket.assignee_id is None:
        ticket.assignee_id = engineer.id
    if engineer.telegram_user_id is None:
        tickets.record(uow.session, ticket, "undeliverable", tickets.SYSTEM, uow.now, data={"to": engineer.key})
    else:
        await _send_card(uow, desk, ticket, engineer, reason=reason)
    await timers.cancel(uow.session, f"ack:{ticket.id}:")
    timers.schedule(
        uow.session, "ack", f"ack:{ticket.id}:{stage}:{int(uow.now.timestamp())}",
        uow.now + ack_timeout(desk),
        {"ticket_id": ticket.id, "stage": stage, "engineer": engineer.key},
    )


def card_buttons(locale: str, ticket_id: int, acknowledged: bool) -> uow_mod.Buttons:
    """The dispatch card's buttons (before and after acknowledgement)."""
    def label(name: str) -> str:
        return render(locale, f"dispatch/labels#{name}")

    work = [(label("contact"), f"dp:contact:{ticket_id}"), (label("resolve"), f"dp:resolve:{ticket_id}")]
    if acknowledged:
        return [work, [(label("handover"), f"dp:handover:{ticket_id}")]]
    return [[(label("ack"), f"dp:ack:{ticket_id}")], work, [(label("handover"), f"dp:handover:{ticket_id}")]]


async def card_context(uow: uow_mod.UnitOfWork, desk: Any, ticket: Ticket) -> dict[str, Any]:
    """Everything the dispatch card shows."""
    from storage.models import Customer

    customer = await uow.session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    tz = uow.now.tzinfo
    return {
        "t": ticket,
        "customer": customer,
        "zone": customer.zone if customer else None,
        "due_first": ticket.first_response_due.astimezone(tz) if ticket.first_response_due else None,
        "due_onsite": ticket.onsite_due.astimezone(tz) if ticket.onsite_due else None,
        "due_fix": ticket.fix_due.astimezone(tz) if ticket.fix_due else None,
        "created": ticket.created_at.astimezone(tz),
        "photos": len(ticket.photos or []),
    }


async def _send_card(
    uow: uow_mod.UnitOfWork, desk: Any, ticket: Ticket, engineer: Staff, *, reason: str | None
) -> None:
    assert engineer.telegram_user_id is not None
    default = desk.settings.default_locale
    locale = await locale_of(uow.session, engineer.telegram_user_id, default)
    ctx = await card_context(uow, desk, ticket)
    text = render(locale, "dispatch/text#card", reason=reason, **ctx)
    uow.send(
        engineer.telegram_user_id, text, buttons=card_buttons(locale, ticket.id, False),
        priority=uow_mod.PRIORITY_URGENT, ref=f"dispatch:{ticket.id}",
    )
    for file_id in (ticket.photos or [])[:5]:
        uow.queue(
            engineer.telegram_user_id, "sendPhoto",
            {"chat_id": engineer.telegram_user_id, "photo": file_id, "caption": ticket.number},
            priority=uow_mod.PRIORITY_URGENT,
        )


async def _alert_supervisors(uow: uow_mod.UnitOfWork, desk: Any, ticket: Ticket, template: str, **extra: Any) -> int:
    ctx = await card_context(uow, desk, ticket)
    sent = 0
    for sup in await active_staff(uow.session):
        if sup.role not in ("supervisor", "admin") or sup.telegram_user_id is None:
            continue
        await tell(
            uow, sup.telegram_user_id, template, default_locale=desk.settings.default_locale,
            buttons_of=lambda loc: card_buttons(loc, ticket.id, ticket.status == "acknowledged"),
            priority=uow_mod.PRIORITY_URGENT, ref=f"dispatch:{ticket.id}", **ctx, **extra,
        )
        sent += 1
    return sent


@timers.timer_handler("dispatch")
async def _queued_dispatch(uow: uow_mod.UnitOfWork, desk: Any, payload: dict[str, Any]) -> None:
    """A ticket queued overnight: dispatch it now that a window has opened."""
    ticket = await uow.session.get(Ticket, payload["ticket_id"])
    if ticket is None or ticket.status not in ("new", "reopened"):
        return
    await dispatch(uow, desk, ticket)


@timers.timer_handler("ack")
async def _ack_timeout(uow: uow_mod.UnitOfWork, desk: Any, payload: dict[str, Any]) -> None:
    """Nobody acknowledged in time: climb one step of the chain."""
    from bot.roster.duty import rotation_next

    ticket = await uow.session.get(Ticket, payload["ticket_id"])
    if ticket is None or ticket.status != "dispatched":
        return
    stage = int(payload["stage"]) + 1
    current = await staff_by_key(uow.session, payload["engineer"])
    minutes = int(ack_timeout(desk).total_seconds() // 60)
    if stage == 1 and current is not None and current.telegram_user_id is not None:
        tickets.record(uow.session, ticket, "reminder", tickets.SYSTEM, uow.now, data={"to": current.key})
        await tell(
            uow, current.telegram_user_id, "dispatch/text#reminder", default_locale=desk.settings.default_locale,
            priority=uow_mod.PRIORITY_URGENT, number=ticket.number, minutes=minutes,
        )
        timers.schedule(
            uow.session, "ack", f"ack:{ticket.id}:{stage}:{int(uow.now.timestamp())}",
            uow.now + ack_timeout(desk), {**payload, "stage": stage},
        )
        return
    if stage <= 2 and current is not None:
        roster = await effective_roster(uow, desk)
        layer = next((la.name for la in roster.layers if current.key in la.members), None)
        nxt = await staff_by_key(uow.session, rotation_next(roster, layer, current.key)) if layer else None
        if nxt is not None and nxt.id != current.id and nxt.active:
            tickets.record(
                uow.session, ticket, "escalated", tickets.SYSTEM, uow.now,
                data={"from": current.key, "to": nxt.key, "level": "next_engineer"},
            )
            await send_to(uow, desk, ticket, nxt, layer=layer, stage=2, reason="escalation")
            return
    count = await _alert_supervisors(uow, desk, ticket, "dispatch/text#escalated_supervisors", minutes=minutes)
    tickets.record(
        uow.session, ticket, "escalated", tickets.SYSTEM, uow.now,
        data={"level": "supervisors", "notified": count},
    )


@dataclass
class AckResult:
    """Outcome of an Acknowledge press."""

    won: bool
    ticket: Ticket | None
    holder: Staff | None = None


async def acknowledge(uow: uow_mod.UnitOfWork, desk: Any, ticket_id: int, staff: Staff) -> AckResult:
    """Take the ticket if nobody has; the loser learns who has it."""
    ticket = await uow.session.get(Ticket, ticket_id)
    if ticket is None:
        return AckResult(False, None)
    result = await uow.session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.status == "dispatched")
        .values(status="acknowledged", assignee_id=staff.id, acknowledged_at=uow.now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        await uow.session.refresh(ticket)
        holder = await uow.session.get(Staff, ticket.assignee_id) if ticket.assignee_id else None
        return AckResult(False, ticket, holder)
    await uow.session.refresh(ticket)
    tickets.record(
        uow.session, ticket, "acknowledged", tickets.Actor("staff", staff.id), uow.now,
        from_status="dispatched", to_status="acknowledged",
        data={"by": staff.key, "delay_s": int((uow.now - ticket.created_at).total_seconds())},
    )
    await timers.cancel(uow.session, f"ack:{ticket.id}:")
    await _mark_cards_taken(uow, desk, ticket, staff)
    await tell(
        uow, ticket.reporter_user_id, "dispatch/text#customer_taken", default_locale=desk.settings.default_locale,
        number=ticket.number, engineer=staff.name,
        due=ticket.first_response_due.astimezone(uow.now.tzinfo) if ticket.first_response_due else None,
    )
    return AckResult(True, ticket, staff)


async def _mark_cards_taken(uow: uow_mod.UnitOfWork, desk: Any, ticket: Ticket, staff: Staff) -> None:
    """Edit every dispatch card of this ticket to show who took it."""
    from storage.models import OutboxMessage

    chats = (
        await uow.session.scalars(
            select(OutboxMessage.chat_id).where(OutboxMessage.ref == f"dispatch:{ticket.id}").distinct()
        )
    ).all()
    ctx = await card_context(uow, desk, ticket)
    for chat_id in chats:
        locale = await locale_of(uow.session, chat_id, desk.settings.default_locale)
        text = render(locale, "dispatch/text#card", reason=None, taken_by=staff.name, **ctx)
        mine = chat_id == staff.telegram_user_id
        uow.edit(
            chat_id, text, edit_ref=f"dispatch:{ticket.id}",
            buttons=card_buttons(locale, ticket.id, True) if mine else [],
            priority=uow_mod.PRIORITY_URGENT,
        )
