"""What the answerer may use about the person asking: only for a verified, linked customer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.rules.answer import CustomerFacts
from storage.models import Customer, Equipment, TelegramUser

MAX_EQUIPMENT = 20


async def customer_facts(session: AsyncSession, user: TelegramUser) -> CustomerFacts | None:
    """The verified customer's zone, contract and registered equipment; None when unverified."""
    if not (user.verified and user.customer_id):
        return None
    customer = await session.get(Customer, user.customer_id)
    if customer is None:
        return None
    return await facts_of(session, customer)


async def facts_of(session: AsyncSession, customer: Customer) -> CustomerFacts:
    """Facts of one customer record (``sdbot ask --customer`` uses this directly)."""
    rows = await session.scalars(
        select(Equipment).where(Equipment.customer_id == customer.id).order_by(Equipment.id).limit(MAX_EQUIPMENT)
    )
    equipment = [
        {
            "label": f"{e.model} ({e.serial})",
            "kind": e.kind,
            "event": e.start_event,
            "date": e.start_event_date.isoformat(),
            "replacements": len(e.replacements or []),
        }
        for e in rows
    ]
    return CustomerFacts(
        name=customer.name,
        zone=customer.zone,
        contract_type=customer.contract_type,
        maintenance_paid_until=customer.maintenance_paid_until,
        equipment=equipment,
    )


async def customer_by_number(session: AsyncSession, number: str) -> Customer | None:
    """A customer by customer number (case-insensitive)."""
    return await session.scalar(select(Customer).where(Customer.number == number.strip().upper()))
