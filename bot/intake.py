"""Fault-report intake in the domain: who is reporting, what they own, and the ticket they get.

Nothing here imports Telegram; handlers pass in the session and plain values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Contact, Customer, Equipment, TelegramUser

CANDIDATE_MIN_SCORE = 70
EXACT_NAME_SCORE = 92


@dataclass
class Identified:
    """Result of matching typed identification: one customer id, or candidates to choose from."""

    exact: int | None = None
    candidates: list[tuple[int, str]] = field(default_factory=list)


async def identify(session: AsyncSession, text: str) -> Identified:
    """Customer number or company name → a customer id (not revealed) or candidates."""
    from bot.registry import find_customers

    matches = await find_customers(session, text, limit=5)
    strong = [(c, score) for c, score in matches if score >= CANDIDATE_MIN_SCORE]
    if not strong:
        return Identified()
    best, best_score = strong[0]
    runner_up = strong[1][1] if len(strong) > 1 else 0
    if best_score >= 100 or (best_score >= EXACT_NAME_SCORE and best_score - runner_up >= 5):
        return Identified(exact=best.id)
    return Identified(candidates=[(c.id, c.name) for c, _ in strong])


async def linked_identity(session: AsyncSession, user: TelegramUser) -> dict[str, Any] | None:
    """A verified, linked account's customer and name, so the report skips those steps."""
    if not (user.verified and user.customer_id):
        return None
    customer = await session.get(Customer, user.customer_id)
    if customer is None:
        return None
    contact = await session.get(Contact, user.contact_id) if user.contact_id else None
    return {
        "customer_id": customer.id,
        "customer_label": customer.name,
        "verified": True,
        "reporter_name": (contact.name if contact else None) or user.display_name or "",
    }


async def verify_phone(
    session: AsyncSession, user: TelegramUser, phone: str, customer_id: int | None
) -> dict[str, Any] | None:
    """A shared phone that matches a registered contact verifies and links the account."""
    from bot.registry import contact_by_phone

    contact = await contact_by_phone(session, phone)
    if contact is None:
        return None
    customer = await session.get(Customer, contact.customer_id)
    if customer is None:
        return None
    user.customer_id, user.contact_id, user.verified, user.phone = customer.id, contact.id, True, phone
    return {
        "customer_id": customer.id,
        "customer_label": customer.name,
        "verified": True,
        "reporter_name": contact.name,
        "switched_customer": customer_id is not None and customer_id != customer.id,
    }


def equipment_label(item: Equipment) -> str:
    """How a piece of equipment is shown in buttons and tickets."""
    return f"{item.model} ({item.serial})"


async def equipment_choices(session: AsyncSession, customer_id: int) -> list[tuple[int, str]]:
    """The customer's registered equipment, for buttons (only after verification)."""
    rows = await session.scalars(
        select(Equipment).where(Equipment.customer_id == customer_id).order_by(Equipment.id).limit(30)
    )
    return [(e.id, equipment_label(e)) for e in rows]


async def equipment_of(
    session: AsyncSession, customer_id: int, equipment_id: int
) -> tuple[int, str, str] | None:
    """One piece of equipment, only if it belongs to ``customer_id``."""
    item = await session.get(Equipment, equipment_id)
    if item is None or item.customer_id != customer_id:
        return None
    return item.id, equipment_label(item), item.category


def local(now: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """``now`` in the desk's zone."""
    return now.astimezone(tz)


def mid_flow_answer(desk: Any, text: str, locale: str, step: str, now: dt.datetime) -> str | None:
    """A policy question typed during the report flow → its answer; None when it is not one."""
    from bot.rules.answer import answer_in_flow

    return answer_in_flow(desk.policy, text, locale=locale, today=local(now, desk.clock.tz).date())
