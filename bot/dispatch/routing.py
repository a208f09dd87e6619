"""Dispatch to the on-duty engineer, acknowledgement and the escalation chain (no Telegram).

Entry point for intake (keep this name stable)::

    outcome = await dispatch.dispatch(uow, desk, ticket)

Call it once, inside the unit of work that created the ticket (``tickets.open_ticket``), and again
when a ticket is reopened. It sends the dispatch card to the engineer on duty now (through the
outbox, urgent priority) or — when nobody is on duty, e.g. 22:30–08:00 — queues the ticket in a
timer row until the next duty window opens. ``outcome.pickup_at`` is then that time and the
reporter is sent a notice saying so (``notify_customer=False`` when intake's own confirmation
says it). Due times intake left empty are filled from the policy; the SLA watch starts.

* Each dispatch starts an ack timer; each time it fires the chain climbs one step (policy
  ``[escalation]``): reminder(s) → next engineer(s) in the rotation → all supervisors, each step a
  ticket event. Any acknowledgement cancels it.
* After the last step the repeat rule (policy ``[escalation] repeat_minutes``) reminds the
  supervisors again and again, during duty hours, until someone acknowledges or a supervisor
  assigns the ticket (``bot/dispatch/assign.py``); nothing is left unacknowledged in silence.
* A complaint is alerted to the supervisors at once (policy §5), even when the ticket is queued.
* A first-response promise passing unacknowledged is renewed to the customer
  (``bot/dispatch/promise_watch.py``; the timer is started here).
* ``acknowledge`` is one conditional UPDATE: when two people press at once, exactly one wins.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from bot.core import timers
from bot.core import uow as uow_mod
from bot.core.notify import tell
from bot.core.roles import MANAGERS
from bot.dispatch import cards, channels, sla, sla_watch
from bot.roster.duty import next_window_start, on_duty, rotation_member
from bot.roster.model import Override, fmt_minutes
from bot.staff.lookup import staff_by_key
from bot.tickets import lifecycle as tickets
from bot.tickets import links
from storage.db import rowcount
from storage.models import Customer, RosterOverride, Staff, Ticket, TicketEvent

if TYPE_CHECKING:
    from bot.desk import Desk


def ack_timeout(desk: Desk) -> dt.timedelta:
    """The acknowledgement timeout from the policy file."""
    return dt.timedelta(minutes=desk.policy.dispatch.ack_timeout_minutes)


def escalation_chain(desk: Desk) -> list[str]:
    """The steps taken after successive ack timeouts: ``remind``…, ``next``…, ``supervisors``."""
    esc = desk.policy.escalation
    return ["remind"] * esc.reminders + ["next"] * esc.next_engineers + ["supervisors"]


async def effective_roster(uow: uow_mod.UnitOfWork, desk: Desk) -> Any:
    """The roster file plus the covers, accepted swaps and calendar days stored in the database."""
    stored = desk.stored_calendar
    roster = desk.roster
    calendar = await stored.merged(uow.session, roster.calendar)
    if calendar is not roster.calendar:
        roster = dataclasses.replace(roster, calendar=calendar)
    rows = (
        await uow.session.scalars(
            select(RosterOverride)
            .where(RosterOverride.status == "active", RosterOverride.ends_at > uow.now)
            .order_by(RosterOverride.id)
        )
    ).all()
    if not rows:
        return roster
    extra = tuple(
        Override(member=r.member, covers=r.covers, start=r.starts_at, end=r.ends_at, note=r.kind) for r in rows
    )
    return dataclasses.replace(roster, overrides=roster.overrides + extra)


def specialty_order(roster: Any, assignments: list[Any], category: str | None) -> list[Any]:
    """``assignments`` with the layers of ``category`` first, the general layers next, the other
    categories' layers last (stable: the roster's order within each group)."""
    kinds = {layer.name: layer.category for layer in roster.layers}

    def rank(a: Any) -> int:
        own = kinds.get(a.layer)
        return 0 if category is not None and own == category else 1 if own is None else 2

    return sorted(assignments, key=rank)


@dataclass
class DispatchOutcome:
    """Where a ticket went: an engineer now, supervisors (nobody active on duty), or a queue."""

    engineer: Staff | None
    pickup_at: dt.datetime | None
    supervisors: int = 0

    @property
    def queued(self) -> bool:
        """True when the ticket waits for the next duty window (``pickup_at``)."""
        return self.pickup_at is not None


async def on_duty_engineer(
    uow: uow_mod.UnitOfWork, desk: Desk, category: str | None = None
) -> tuple[Staff | None, str | None]:
    """The active, registered engineer on duty now and the layer, or (None, None).

    Routing by specialty (issue 18): the layers of ``category`` first, then the general layers,
    then other categories' (``specialty_order``); without category layers the roster's order."""
    roster = await effective_roster(uow, desk)
    for assignment in specialty_order(roster, on_duty(roster, uow.now), category):
        staff = await staff_by_key(uow.session, assignment.member)
        if staff is not None and staff.active:
            return staff, assignment.layer
    return None, None


async def dispatch(
    uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, *, notify_customer: bool = True
) -> DispatchOutcome:
    """Send ``ticket`` to the engineer on duty, or queue it for the next duty window.

    The stable entry point for intake (see the module docstring). Also starts the SLA watch.
    When the ticket is queued, the reporter is told when it will be picked up, unless
    ``notify_customer`` is False (intake says so in its own confirmation instead).
    """
    if ticket.status == "new":
        customer = await uow.session.get(Customer, ticket.customer_id) if ticket.customer_id else None
        sla.fill_due_times(desk, ticket, customer)
    await sla_watch.watch_sla(uow, desk, ticket)
    await watch_promise(uow, ticket)
    if ticket.complaint:
        await cards.alert_complaint(uow, desk, ticket)
    engineer, layer = await on_duty_engineer(uow, desk, ticket.category)
    if engineer is not None and engineer.telegram_user_id is None:  # on duty but never registered
        tickets.record(uow.session, ticket, "undeliverable", tickets.SYSTEM, uow.now, data={"to": engineer.key})
        engineer, layer = await _next_engineer(uow, desk, {"engineer": engineer.key, "layer": layer, "tried": []})
    if engineer is not None:
        await send_to(uow, desk, ticket, engineer, layer=layer, stage=0)
        return DispatchOutcome(engineer, None)
    roster = await effective_roster(uow, desk)
    pickup = next_window_start(roster, uow.now)
    if pickup is not None and pickup > uow.now:
        await timers.schedule_once(
            uow.session, "dispatch", f"dispatch:{ticket.id}:{int(pickup.timestamp())}", pickup,
            {"ticket_id": ticket.id},
        )
        tickets.record(uow.session, ticket, "queued", tickets.SYSTEM, uow.now, data={"until": pickup.isoformat()})
        if notify_customer and ticket.status == "new":
            await links.tell_reporters(
                uow, ticket, "dispatch/text#customer_queued",
                default_locale=desk.settings.default_locale, ref=f"ticket:{ticket.id}",
                number=ticket.number, at=pickup.astimezone(uow.now.tzinfo),
                duty_from=fmt_minutes(desk.roster.hours.duty_start), duty_to=fmt_minutes(desk.roster.hours.duty_end),
            )
        return DispatchOutcome(None, pickup)
    # a window is open but nobody on it can take tickets (inactive), or there is no window at all
    _mark_dispatched(uow, ticket, "supervisors", layer=None, stage=0, reason="no_engineer")
    count = await cards.alert_supervisors(uow, desk, ticket, "dispatch/text#no_engineer")
    await channels.notify(uow, desk, ticket, await cards.supervisors(uow), "supervisors")  # issue 18
    tickets.record(
        uow.session, ticket, "escalated", tickets.SYSTEM, uow.now,
        data={"level": "supervisors", "notified": count, "reason": "no_engineer"},
    )
    await timers.cancel(uow.session, f"ack:{ticket.id}:")
    await schedule_repeat(uow, desk, ticket, {
        "ticket_id": ticket.id, "stage": len(escalation_chain(desk)), "engineer": None, "layer": None,
        "tried": [], "sent_at": uow.now.isoformat(),
    })
    return DispatchOutcome(None, None, supervisors=count)


async def watch_promise(uow: uow_mod.UnitOfWork, ticket: Ticket) -> None:
    """A timer at the ticket's first-response promise (``promise_watch.promise_due`` handles it)."""
    due = ticket.first_response_due
    if due is not None and ticket.status == "new":
        await timers.schedule_once(
            uow.session, "promise", f"promise:{ticket.id}:{int(due.timestamp())}", due,
            {"ticket_id": ticket.id, "due": due.isoformat()},
        )


def duty_time(roster: Any, at: dt.datetime) -> dt.datetime:
    """``at`` when someone is on duty then, else the start of the next duty window (``at`` if none)."""
    if on_duty(roster, at):
        return at
    return next_window_start(roster, at) or at


async def schedule_repeat(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, payload: dict[str, Any]) -> None:
    """The next supervisors' reminder of the repeat rule (policy ``[escalation]``), if it is on."""
    esc = desk.policy.escalation
    if esc.repeat_minutes <= 0:
        return
    at = uow.now + dt.timedelta(minutes=esc.repeat_minutes)
    if esc.repeat_during_duty_hours:
        at = duty_time(await effective_roster(uow, desk), at)
    stage = int(payload["stage"])
    timers.schedule(
        uow.session, "ack", f"ack:{ticket.id}:{stage}:{uow.now.timestamp():.6f}", at,
        {**payload, "stage": stage, "repeat": int(payload.get("repeat") or 0) + 1},
    )


async def _repeat_due(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, payload: dict[str, Any]) -> None:
    """The repeat rule: still unacknowledged after the whole chain: remind the supervisors again."""
    first = await uow.session.scalar(
        select(TicketEvent.at).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "dispatched")
        .order_by(TicketEvent.id).limit(1)
    )
    waited = int((uow.now - (first or ticket.created_at)).total_seconds() // 60)
    repeat = int(payload.get("repeat") or 1)
    holder = await staff_by_key(uow.session, payload["engineer"]) if payload.get("engineer") else None
    count = await cards.alert_supervisors(
        uow, desk, ticket, "dispatch/text#still_unacknowledged", waited=waited, repeat=repeat,
        holder=holder.name if holder else None,
    )
    await channels.notify(uow, desk, ticket, await cards.supervisors(uow), "repeat")  # issue 18
    tickets.record(
        uow.session, ticket, "reminder", tickets.SYSTEM, uow.now,
        data={"to": "supervisors", "repeat": repeat, "notified": count, "waited_s": waited * 60},
    )
    await schedule_repeat(uow, desk, ticket, {**payload, "sent_at": uow.now.isoformat()})


def _mark_dispatched(
    uow: uow_mod.UnitOfWork, ticket: Ticket, to: str, *, layer: str | None, stage: int, reason: str | None
) -> None:
    data = {"to": to, "layer": layer, "stage": stage, "reason": reason}
    if ticket.status != "dispatched":
        tickets.transition(uow.session, ticket, "dispatched", tickets.SYSTEM, uow.now, data=data)
    else:
        tickets.record(uow.session, ticket, "dispatched", tickets.SYSTEM, uow.now, data=data)


async def send_to(
    uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, engineer: Staff, *, layer: str | None, stage: int,
    reason: str | None = None, note: str | None = None, tried: list[str] | None = None,
) -> None:
    """Dispatch message with buttons to ``engineer``; ticket → dispatched; ack timer (re)started."""
    _mark_dispatched(uow, ticket, engineer.key, layer=layer, stage=stage, reason=reason)
    if ticket.status == "dispatched" and reason in (None, "handover", "assigned", "handoff"):
        ticket.assignee_id = engineer.id
    if engineer.telegram_user_id is None:
        tickets.record(uow.session, ticket, "undeliverable", tickets.SYSTEM, uow.now, data={"to": engineer.key})
    else:
        await cards.send_card(uow, desk, ticket, engineer, reason=reason, note=note)
    await channels.notify(uow, desk, ticket, [engineer], "next" if reason == "escalation" else "dispatch")
    await timers.cancel(uow.session, f"ack:{ticket.id}:")
    timers.schedule(
        uow.session, "ack", f"ack:{ticket.id}:{stage}:{uow.now.timestamp():.6f}",
        uow.now + ack_timeout(desk),
        {
            "ticket_id": ticket.id, "stage": stage, "engineer": engineer.key, "layer": layer,
            "tried": sorted({*(tried or []), engineer.key}), "sent_at": uow.now.isoformat(),
        },
    )


async def queued_dispatch_due(uow: uow_mod.UnitOfWork, desk: Desk, payload: dict[str, Any]) -> None:
    """A ticket queued overnight: dispatch it now that a window has opened."""
    ticket = await uow.session.get(Ticket, payload["ticket_id"], with_for_update=True)  # vs. a concurrent press
    if ticket is None or ticket.status not in ("new", "reopened"):
        return
    await dispatch(uow, desk, ticket)


async def _next_engineer(uow: uow_mod.UnitOfWork, desk: Desk, payload: dict[str, Any]) -> tuple[Staff | None, str | None]:
    """The next active engineer in the rotation after the current one, skipping those tried."""
    roster = await effective_roster(uow, desk)
    current = payload.get("engineer")
    layer_name = payload.get("layer")
    layers = [la for la in roster.layers if la.name == layer_name] or [
        la for la in roster.layers if current in la.members
    ]
    if not layers:  # e.g. a supervisor or a cover who is in no layer: the layer on duty now
        on = on_duty(roster, uow.now)
        layers = [roster.layer(on[0].layer)] if on else list(roster.layers[:1])
    if not layers:
        return None, None
    layer = layers[0]
    members = list(layer.members)
    start = current if current in members else rotation_member(roster, layer, uow.now)
    tried = set(payload.get("tried") or []) | {current}
    i = members.index(start)
    for step in range(1, len(members) + 1):
        key = members[(i + step) % len(members)]
        if key in tried:
            continue
        staff = await staff_by_key(uow.session, key)
        if staff is not None and staff.active and staff.telegram_user_id is not None:
            return staff, layer.name
    return None, layer.name


async def ack_timer_due(uow: uow_mod.UnitOfWork, desk: Desk, payload: dict[str, Any]) -> None:
    """Nobody acknowledged in time: climb one step of the chain (policy ``[escalation]``)."""
    ticket = await uow.session.get(Ticket, payload["ticket_id"], with_for_update=True)  # vs. a concurrent press
    if ticket is None or ticket.status != "dispatched":
        return
    chain = escalation_chain(desk)
    stage = int(payload["stage"])
    if stage >= len(chain):
        await _repeat_due(uow, desk, ticket, payload)
        return
    step = chain[stage]
    waited = int((uow.now - dt.datetime.fromisoformat(payload["sent_at"])).total_seconds()) if payload.get(
        "sent_at") else None
    minutes = int(ack_timeout(desk).total_seconds() // 60)
    current = await staff_by_key(uow.session, payload["engineer"])
    if step == "remind" and current is not None and current.telegram_user_id is not None:
        tickets.record(
            uow.session, ticket, "reminder", tickets.SYSTEM, uow.now,
            data={"to": current.key, "stage": stage + 1, "waited_s": waited},
        )
        await tell(
            uow, current.telegram_user_id, "dispatch/text#reminder", default_locale=desk.settings.default_locale,
            priority=uow_mod.PRIORITY_URGENT, number=ticket.number, minutes=minutes,
        )
        await channels.notify(uow, desk, ticket, [current], "remind")  # issue 18
        timers.schedule(
            uow.session, "ack", f"ack:{ticket.id}:{stage + 1}:{uow.now.timestamp():.6f}",
            uow.now + ack_timeout(desk), {**payload, "stage": stage + 1, "sent_at": uow.now.isoformat()},
        )
        return
    if step in ("remind", "next"):
        nxt, layer = await _next_engineer(uow, desk, payload)
        if nxt is not None:
            tickets.record(
                uow.session, ticket, "escalated", tickets.SYSTEM, uow.now,
                data={"from": payload["engineer"], "to": nxt.key, "level": "next_engineer",
                      "stage": stage + 1, "waited_s": waited},
            )
            await send_to(
                uow, desk, ticket, nxt, layer=layer, stage=stage + 1, reason="escalation",
                tried=list(payload.get("tried") or []),
            )
            return
    count = await cards.alert_supervisors(uow, desk, ticket, "dispatch/text#escalated_supervisors", minutes=minutes)
    await channels.notify(uow, desk, ticket, await cards.supervisors(uow), "supervisors")  # issue 18
    tickets.record(
        uow.session, ticket, "escalated", tickets.SYSTEM, uow.now,
        data={"level": "supervisors", "notified": count, "stage": stage + 1, "waited_s": waited},
    )
    await schedule_repeat(uow, desk, ticket, {**payload, "stage": len(chain), "sent_at": uow.now.isoformat()})


@dataclass
class AckResult:
    """Outcome of an Acknowledge press."""

    won: bool
    ticket: Ticket | None
    holder: Staff | None = None
    allowed: bool = True


async def was_dispatched_to(uow: uow_mod.UnitOfWork, ticket_id: int, staff: Staff) -> bool:
    """True when a dispatch card of this ticket went to ``staff``."""
    rows = await uow.session.scalars(
        select(TicketEvent.data).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "dispatched")
    )
    return any((d or {}).get("to") == staff.key for d in rows.all())


async def acknowledge(uow: uow_mod.UnitOfWork, desk: Desk, ticket_id: int, staff: Staff) -> AckResult:
    """Take the ticket if nobody has; the loser learns who has it.

    Engineers may acknowledge only a ticket that was dispatched to them; supervisors and admins
    may take any dispatched ticket.
    """
    if staff.role not in MANAGERS and not await was_dispatched_to(uow, ticket_id, staff):
        refused = await uow.session.get(Ticket, ticket_id)
        return AckResult(False, None) if refused is None else AckResult(False, refused, allowed=False)
    result = await uow.session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.status == "dispatched")
        .values(status="acknowledged", assignee_id=staff.id, acknowledged_at=uow.now)
        .execution_options(synchronize_session=False)
    )
    ticket = await uow.session.get(Ticket, ticket_id, populate_existing=True)  # read once, as updated
    if ticket is None:
        return AckResult(False, None)
    if rowcount(result) == 0:
        holder = await uow.session.get(Staff, ticket.assignee_id) if ticket.assignee_id else None
        return AckResult(False, ticket, holder)
    dispatched_at = await uow.session.scalar(
        select(TicketEvent.at).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "dispatched")
        .order_by(TicketEvent.id).limit(1)
    )
    tickets.record(
        uow.session, ticket, "acknowledged", tickets.Actor("staff", staff.id), uow.now,
        from_status="dispatched", to_status="acknowledged",
        data={
            "by": staff.key,
            "delay_s": int((uow.now - ticket.created_at).total_seconds()),
            "since_dispatch_s": int((uow.now - dispatched_at).total_seconds()) if dispatched_at else None,
        },
    )
    await timers.cancel(uow.session, f"ack:{ticket.id}:")
    await timers.cancel(uow.session, f"promise:{ticket.id}:")  # the promise is the engineer's now
    await _mark_cards_taken(uow, desk, ticket, staff)
    await links.tell_reporters(
        uow, ticket, "dispatch/text#customer_taken", default_locale=desk.settings.default_locale,
        number=ticket.number, engineer=staff.name, ref=f"ticket:{ticket.id}",
        due=ticket.first_response_due.astimezone(uow.now.tzinfo) if ticket.first_response_due else None,
    )
    return AckResult(True, ticket, staff)


async def _mark_cards_taken(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, staff: Staff) -> None:
    """Edit every dispatch card of this ticket to show who took it (only the taker keeps buttons)."""
    await cards.edit_cards(uow, desk, ticket, "taken", staff.name, keep_for=staff.telegram_user_id)

