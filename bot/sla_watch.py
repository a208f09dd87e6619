"""SLA watch: one timer per due time of a ticket; a missed commitment alerts supervisors once.

First response is kept by any recorded contact by the due time, on-site by an on-site contact, the
fix by the resolution; a resolution before a due time keeps every commitment. Breaches are
``sla_breach`` ticket events (kind, due, lateness). Grace: policy ``[sla_watch] grace_minutes``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from bot import dispatch, tickets, timers
from bot import uow as uow_mod
from storage.models import Ticket, TicketEvent

SLA_KINDS = ("first_response", "onsite", "fix")


def _due_of(ticket: Ticket, kind: str) -> dt.datetime | None:
    return {"first_response": ticket.first_response_due, "onsite": ticket.onsite_due, "fix": ticket.fix_due}[kind]


async def watch_sla(uow: uow_mod.UnitOfWork, desk: Any, ticket: Ticket) -> None:
    """One SLA timer per due time of the ticket (idempotent: a reopen does not add more)."""
    grace = dt.timedelta(minutes=desk.policy.sla_watch.grace_minutes)
    for kind in SLA_KINDS:
        due = _due_of(ticket, kind)
        if due is None:
            continue
        await timers.schedule_once(
            uow.session, "sla", f"sla:{ticket.id}:{kind}", due + grace,
            {"ticket_id": ticket.id, "kind": kind, "due": due.isoformat()},
        )


async def sla_met(uow: uow_mod.UnitOfWork, ticket: Ticket, kind: str, due: dt.datetime) -> bool:
    """Whether the commitment ``kind`` was kept by ``due``."""
    if ticket.status == "cancelled":
        return True
    if ticket.resolved_at is not None and ticket.resolved_at <= due:
        return True
    if kind == "fix":
        return False
    events = (
        await uow.session.scalars(
            select(TicketEvent).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "contact", TicketEvent.at <= due
            )
        )
    ).all()
    if kind == "first_response":
        return bool(events)
    return any((e.data or {}).get("kind") == "onsite" for e in events)


@timers.timer_handler("sla")
async def _sla_check(uow: uow_mod.UnitOfWork, desk: Any, payload: dict[str, Any]) -> None:
    """A due time passed: if the commitment was missed, record it and alert supervisors (once)."""
    ticket = await uow.session.get(Ticket, payload["ticket_id"])
    if ticket is None:
        return
    kind = payload["kind"]
    due = dt.datetime.fromisoformat(payload["due"])
    if await sla_met(uow, ticket, kind, due):
        return
    count = await dispatch.alert_supervisors(
        uow, desk, ticket, "dispatch/text#sla_breach", kind=kind, due=due.astimezone(uow.now.tzinfo),
    )
    tickets.record(
        uow.session, ticket, "sla_breach", tickets.SYSTEM, uow.now,
        data={"kind": kind, "due": due.isoformat(), "notified": count,
              "late_s": int((uow.now - due).total_seconds())},
    )
