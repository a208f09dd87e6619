"""Customer registry lookups (placeholder until the registry work lands)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Contact, Customer


async def find_customers(session: AsyncSession, text: str, limit: int = 5) -> list[tuple[Customer, int]]:
    """Customers matching a typed number or name, best first, with a 0–100 score."""
    return []


async def contact_by_phone(session: AsyncSession, phone: str) -> Contact | None:
    """The registered contact with this phone number, if any."""
    return None
