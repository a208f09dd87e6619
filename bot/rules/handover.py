"""Hand a customer over to a person: a ticket (``human`` or ``complaint``) dispatched like a report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import tickets
from bot import uow as uow_mod
from storage.models import Contact, Customer, TelegramUser

SYMPTOM_MAX = 2000


@dataclass
class Handover:
    """The ticket created for a person to pick up, and when it will be picked up."""

    number: str
    pickup_at: Any = None  # local datetime when queued until the next duty window


async def hand_over(
    uow: uow_mod.UnitOfWork, desk: Any, user: TelegramUser, question: str, *, complaint: bool, note: str
) -> Handover:
    """Open a ticket for a person (severity ``question``) and dispatch it; returns its number."""
    from bot import dispatch

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
    outcome = await dispatch.dispatch(uow, desk, ticket)
    pickup = outcome.pickup_at.astimezone(desk.clock.tz) if outcome.pickup_at else None
    return Handover(ticket.number, pickup)
