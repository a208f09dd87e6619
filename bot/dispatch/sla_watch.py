"""SLA watch: one timer per due time of a ticket; a missed commitment alerts supervisors once.

First response is kept by any recorded contact by the due time, on-site by an on-site contact, the
fix by the resolution; a resolution before a due time keeps every commitment. Breaches are
``sla_breach`` ticket events (kind, due, lateness). Grace: policy ``[sla_watch] grace_minutes``.

A reopened ticket starts a fresh cycle: new timers with due times counted from the reopening (the
policy's hours, the customer's zone and contract), judged only by what happened since then. The
ticket's own due times stay those of the original report (the reports measure that promise).

Pauses (``bot.tickets.pause``): a timer firing while the ticket is paused, or for a due time a
resume has since moved, does nothing; the resume schedules ``rewatch_after_pause`` timers. In a
reopened cycle a pause moves the cycle's due times the same way (``_cycle_after_pauses``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.core import timers
from bot.core import uow as uow_mod
from bot.dispatch import cards, sla
from bot.tickets import lifecycle as tickets
from storage.models import Customer, Ticket, TicketEvent

if TYPE_CHECKING:
    from bot.desk import Desk

SLA_KINDS = ("first_response", "onsite", "fix")


def _due_of(ticket: Ticket, kind: str) -> dt.datetime | None:
    return {"first_response": ticket.first_response_due, "onsite": ticket.onsite_due, "fix": ticket.fix_due}[kind]


async def watch_sla(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket) -> None:
    """One SLA timer per due time of the ticket's current cycle (idempotent: dispatching the same
    cycle again adds nothing; a reopened ticket gets fresh timers, see ``_reopened_cycle``)."""
    grace = dt.timedelta(minutes=desk.policy.sla_watch.grace_minutes)
    cycle = await _reopened_cycle(uow, desk, ticket) if ticket.status == "reopened" else None
    for kind in SLA_KINDS:
        due = cycle[2].get(kind) if cycle else _due_of(ticket, kind)
        if due is None:
            continue
        payload: dict[str, Any] = {"ticket_id": ticket.id, "kind": kind, "due": due.isoformat()}
        key = f"sla:{ticket.id}:{kind}"
        if cycle:
            key, payload["since"] = f"{key}:r{cycle[0]}", cycle[1].isoformat()
        await timers.schedule_once(uow.session, "sla", key, due + grace, payload)


async def rewatch_after_pause(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, pause_no: int) -> None:
    """Fresh SLA timers at the ticket's due times as a resume moved them (``pause_no``: which
    pause ended; the timers of earlier due times skip themselves when they fire). A reopened
    ticket's are those of its current cycle, moved by the cycle's pauses (``_cycle_after_pauses``)."""
    grace = dt.timedelta(minutes=desk.policy.sla_watch.grace_minutes)
    cycle = await _cycle_after_pauses(uow, desk, ticket)
    if cycle is not None:
        number, since, dues = cycle
        for kind in SLA_KINDS:
            due = dues.get(kind)
            if due is None or due <= uow.now:
                continue
            payload: dict[str, Any] = {"ticket_id": ticket.id, "kind": kind, "due": due.isoformat(),
                                       "since": since.isoformat()}
            await timers.schedule_once(uow.session, "sla", f"sla:{ticket.id}:{kind}:r{number}p{pause_no}",
                                       due + grace, payload)
        return
    for kind in SLA_KINDS:
        due = _due_of(ticket, kind)
        if due is None or due <= uow.now:
            continue
        payload = {"ticket_id": ticket.id, "kind": kind, "due": due.isoformat()}
        await timers.schedule_once(uow.session, "sla", f"sla:{ticket.id}:{kind}:p{pause_no}", due + grace, payload)


async def _cycle_after_pauses(
    uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket
) -> tuple[int, dt.datetime, dict[str, dt.datetime | None]] | None:
    """The reopened cycle (``_reopened_cycle``) with each due time moved by the pauses of the
    cycle that have ended (the cycle's timers are judged against these)."""
    cycle = await _reopened_cycle(uow, desk, ticket)
    if cycle is None:
        return None
    number, since, dues = cycle
    rows = (await uow.session.execute(
        select(TicketEvent.kind, TicketEvent.at).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind.in_(("paused", "resumed")), TicketEvent.at >= since,
        ).order_by(TicketEvent.id)
    )).all()
    started: dt.datetime | None = None
    for kind, at in rows:
        if kind == "paused":
            started = at
        elif started is not None:
            dues = {k: sla.shift_due(desk, k, d, started, at) if d else d for k, d in dues.items()}
            started = None
    return number, since, dues


async def _reopened_cycle(
    uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket
) -> tuple[int, dt.datetime, dict[str, dt.datetime | None]] | None:
    """(number of reopenings, when the last one happened, fresh due times counted from it)."""
    reopened = (await uow.session.scalars(
        select(TicketEvent.at).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "reopened")
        .order_by(TicketEvent.id)
    )).all()
    if not reopened:
        return None
    since = reopened[-1]
    customer = await uow.session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    due = sla.due_times(desk, since, customer)
    if due is None:
        return None
    return len(reopened), since, {"first_response": due.first_response, "onsite": due.onsite, "fix": due.fix}


async def sla_met(
    uow: uow_mod.UnitOfWork, ticket: Ticket, kind: str, due: dt.datetime, since: dt.datetime | None = None
) -> bool:
    """Whether the commitment ``kind`` of the cycle that began at ``since`` (default: the report)
    was kept by ``due``: a resolution in that cycle by then keeps every commitment."""
    if ticket.status == "cancelled":
        return True
    start = since or ticket.created_at
    resolved = await uow.session.scalar(
        select(TicketEvent.at).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "resolved", TicketEvent.at >= start
        ).order_by(TicketEvent.at).limit(1)
    )
    if resolved is not None and resolved <= due:
        return True
    if kind == "fix":
        return False
    events = (
        await uow.session.scalars(
            select(TicketEvent).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.kind.in_(tickets.RESPONSE_KINDS),
                TicketEvent.at >= start, TicketEvent.at <= due,
            )
        )
    ).all()
    if kind == "first_response":
        return bool(events)
    return any((e.data or {}).get("kind") == "onsite" for e in events)


async def sla_check_due(uow: uow_mod.UnitOfWork, desk: Desk, payload: dict[str, Any]) -> None:
    """A due time passed: if the commitment was missed, record it and alert supervisors (once)."""
    ticket = await uow.session.get(Ticket, payload["ticket_id"])
    if ticket is None:
        return
    kind = payload["kind"]
    due = dt.datetime.fromisoformat(payload["due"])
    since = dt.datetime.fromisoformat(payload["since"]) if payload.get("since") else None
    if ticket.paused_at is not None:  # the clock is stopped: the resume schedules fresh timers
        return
    if since is None and _due_of(ticket, kind) != due:  # a pause moved it: the later timer checks
        return
    if since is not None:  # a reopened cycle's: a pause in the cycle moved it, the later timer checks
        cycle = await _cycle_after_pauses(uow, desk, ticket)
        if cycle is not None and cycle[1] == since and cycle[2].get(kind) != due:
            return
    if await sla_met(uow, ticket, kind, due, since):
        return
    count = await cards.alert_breach(
        uow, desk, ticket, "dispatch/text#sla_breach", kind=kind, due=due.astimezone(uow.now.tzinfo),
    )
    tickets.record(
        uow.session, ticket, "sla_breach", tickets.SYSTEM, uow.now,
        data={"kind": kind, "due": due.isoformat(), "notified": count,
              "late_s": int((uow.now - due).total_seconds()),
              **({"since": payload["since"]} if payload.get("since") else {})},
    )
