"""Finding a staff member from what a supervisor typed: key, name, part of a name or @username."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

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
