"""Hand a customer over to a person: a ticket (``human`` or ``complaint``) dispatched like a report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.core import uow as uow_mod
from bot.dispatch import routing as dispatch
from bot.tickets import lifecycle as tickets
from storage.models import Contact, Customer, TelegramUser, Ticket

if TYPE_CHECKING:
    from bot.desk import Desk

SYMPTOM_MAX = 2000
REPEAT_WINDOW = dt.timedelta(minutes=30)


@dataclass
class Handover:
    """The ticket created for a person to pick up, and when it will be picked up."""

    number: str
    pickup_at: Any = None  # local datetime when queued until the next duty window
    reused: bool = False  # an open hand-over ticket of the last minutes was found instead


async def _recent_open(uow: uow_mod.UnitOfWork, user_id: int, *, complaint: bool) -> Ticket | None:
    """This user's open hand-over ticket of the last ``REPEAT_WINDOW`` (asking twice adds nothing)."""
    return await uow.session.scalar(
        select(Ticket)
        .where(
            Ticket.reporter_user_id == user_id,
            Ticket.severity == "question",
            Ticket.complaint.is_(complaint),
            Ticket.status.in_(tickets.OPEN_STATES),
            Ticket.created_at >= uow.now - REPEAT_WINDOW,
        )
        .order_by(Ticket.id.desc())
        .limit(1)
    )


async def hand_over(
    uow: uow_mod.UnitOfWork, desk: Desk, user: TelegramUser, question: str, *, complaint: bool, note: str
) -> Handover:
    """Open a ticket for a person (severity ``question``) and dispatch it; returns its number."""
    existing = await _recent_open(uow, user.id, complaint=complaint)
    if existing is not None:
        return Handover(existing.number, reused=True)
    customer = await uow.session.get(Customer, user.customer_id) if user.verified and user.customer_id else None
    contact = await uow.session.get(Contact, user.contact_id) if user.verified and user.contact_id else None
    name = (contact.name if contact else None) or user.display_name or user.first_name or str(user.id)
    symptom = f"{note}: {question}".strip(": ") if question else note
    new = tickets.NewTicket(
        reporter_user_id=user.id,
        reporter_name=name[:100],
        customer_label=(customer.name if customer else name)[:200],
        customer_id=customer.id if customer else None,
        verified=customer is not None,
        category="other",
        severity="question",
        symptom=symptom[:SYMPTOM_MAX],
        complaint=complaint,
    )
    ticket = await tickets.open_ticket(uow.session, new, uow.now, desk.clock.tz)
    outcome = await dispatch.dispatch(uow, desk, ticket)  # a complaint is alerted to supervisors there
    pickup = outcome.pickup_at.astimezone(desk.clock.tz) if outcome.pickup_at else None
    return Handover(ticket.number, pickup)


