"""A supervisor assigns a ticket to an engineer; a roster handoff moves unacknowledged tickets.

Both re-dispatch: every dispatch card of the ticket is edited to say where it went, and the new
engineer gets a fresh card with the acknowledgement chain started again (``routing.send_to``).
Everything is checked here against the ticket and the engineer as stored now — the handler's
input (a command, a button's data) is untrusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, update

from bot.core import uow as uow_mod
from bot.core.roles import Role
from bot.desk import Desk
from bot.dispatch import cards, routing
from bot.roster.duty import on_duty
from bot.staff.lookup import active_staff
from bot.tickets import lifecycle as tickets
from storage.db import rowcount
from storage.models import Staff, Ticket

ASSIGNABLE = frozenset({"new", "dispatched", "acknowledged", "in_progress", "reopened"})
Refusal = Literal["ok", "no_ticket", "closed", "no_engineer", "already"]


@dataclass
class Candidate:
    """An engineer a ticket can be assigned to."""

    staff: Staff
    on_duty: bool


async def candidates(uow: uow_mod.UnitOfWork, desk: Desk) -> list[Candidate]:
    """Active, registered engineers: those on duty now first, then the others by name."""
    roster = await routing.effective_roster(uow, desk)
    duty = {a.member for a in on_duty(roster, uow.now)}
    out = [
        Candidate(s, s.key in duty) for s in await active_staff(uow.session, Role.ENGINEER)
        if s.telegram_user_id is not None
    ]
    return sorted(out, key=lambda c: (not c.on_duty, c.staff.name))


def assignable_engineer(staff: Staff | None) -> bool:
    """Whether ``staff`` can be given a ticket: an active, registered engineer."""
    return staff is not None and staff.active and staff.role == Role.ENGINEER and staff.telegram_user_id is not None


@dataclass
class Assigned:
    """What became of an assignment: ``ok`` or why nothing was done."""

    outcome: Refusal
    ticket: Ticket | None = None
    engineer: Staff | None = None


async def assign(uow: uow_mod.UnitOfWork, desk: Desk, ticket_id: int, engineer_id: int, by: Staff) -> Assigned:
    """Give the ticket to the engineer (re-checking both as stored now); nothing changes on a refusal."""
    ticket = await uow.session.get(Ticket, ticket_id, with_for_update=True)  # vs. a concurrent ack
    if ticket is None:
        return Assigned("no_ticket")
    engineer = await uow.session.get(Staff, engineer_id)
    if not assignable_engineer(engineer):
        return Assigned("no_engineer", ticket)
    assert engineer is not None
    if ticket.status not in ASSIGNABLE:
        return Assigned("closed", ticket, engineer)
    if ticket.assignee_id == engineer.id and ticket.status != "dispatched":
        return Assigned("already", ticket, engineer)
    previous = await uow.session.get(Staff, ticket.assignee_id) if ticket.assignee_id else None
    seen = ticket.status
    won = await uow.session.execute(  # only while the ticket is as read: a concurrent ack wins cleanly
        update(Ticket).where(Ticket.id == ticket.id, Ticket.status == seen)
        .values(assignee_id=engineer.id).execution_options(synchronize_session=False)
    )
    await uow.session.refresh(ticket)
    if rowcount(won) != 1:
        return Assigned("closed", ticket, engineer)
    tickets.record(
        uow.session, ticket, "assigned", tickets.Actor("staff", by.id), uow.now,
        data={"by": by.key, "to": engineer.key, "from": previous.key if previous else None},
    )
    await redispatch(uow, desk, ticket, engineer, reason="assigned", note=by.name)
    return Assigned("ok", ticket, engineer)


async def redispatch(
    uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, engineer: Staff, *, reason: str, note: str | None
) -> None:
    """Edit every card of the ticket to show it went to ``engineer``, then dispatch it to them."""
    await cards.edit_cards(uow, desk, ticket, reason, engineer.name)
    await routing.send_to(uow, desk, ticket, engineer, layer=None, stage=0, reason=reason, note=note)


async def move_unacknowledged(uow: uow_mod.UnitOfWork, desk: Desk, outgoing: Staff, incoming: Staff | None) -> list[str]:
    """Roster handoff: the outgoing engineer's unacknowledged tickets go to the incoming one.

    Returns the numbers moved (none when the incoming engineer cannot take tickets: the
    acknowledgement chain and the supervisors' reminders go on as before)."""
    if not assignable_engineer(incoming) or incoming is None or incoming.id == outgoing.id:
        return []
    waiting = (await uow.session.scalars(
        select(Ticket).where(Ticket.status == "dispatched", Ticket.assignee_id == outgoing.id)
        .order_by(Ticket.id).with_for_update()
    )).all()
    for ticket in waiting:
        tickets.record(
            uow.session, ticket, "handoff_moved", tickets.SYSTEM, uow.now,
            data={"from": outgoing.key, "to": incoming.key},
        )
        ticket.assignee_id = incoming.id
        await redispatch(uow, desk, ticket, incoming, reason="handoff", note=outgoing.name)
    return [t.number for t in waiting]
