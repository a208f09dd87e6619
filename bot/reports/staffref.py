"""Finding a staff member from what a supervisor typed: key, name, part of a name or @username."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.roles import Role
from storage.models import Staff, TelegramUser


async def find_staff(session: AsyncSession, token: str) -> Staff | None:
    """The one staff member ``token`` names, else None (unknown or ambiguous)."""
    token = token.strip()
    if not token:
        return None
    if token.startswith("@"):
        return await session.scalar(
            select(Staff)
            .join(
                TelegramUser,
                (TelegramUser.staff_id == Staff.id) | (TelegramUser.id == Staff.telegram_user_id),
            )
            .where(func.lower(TelegramUser.username) == token[1:].lower())
            .limit(1)
        )
    exact = await session.scalar(
        select(Staff).where((func.lower(Staff.key) == token.lower()) | (Staff.name == token)).limit(1)
    )
    if exact is not None:
        return exact
    partial = (
        await session.scalars(select(Staff).where(Staff.name.contains(token)).limit(2))
    ).all()
    return partial[0] if len(partial) == 1 else None


async def mentioned_staff(session: AsyncSession, text: str) -> Staff | None:
    """The one engineer a plain question names (full name, key or @username), else None."""
    lowered = text.lower()
    rows = (await session.execute(
        select(Staff, TelegramUser.username).outerjoin(
            TelegramUser, (TelegramUser.staff_id == Staff.id) | (TelegramUser.id == Staff.telegram_user_id)
        ).where(Staff.role == Role.ENGINEER)
    )).all()
    found = {
        staff.id: staff for staff, username in rows
        if (len(staff.name) >= 2 and staff.name in text)
        or re.search(rf"\b{re.escape(staff.key.lower())}\b", lowered)
        or (username and f"@{username.lower()}" in lowered)
    }
    return next(iter(found.values())) if len(found) == 1 else None
