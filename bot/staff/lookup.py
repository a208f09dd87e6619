"""Finding staff: the active ones (optionally of one role) and one by roster key."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Staff


async def active_staff(session: AsyncSession, role: str | None = None) -> list[Staff]:
    """Active staff, optionally of one role."""
    stmt = select(Staff).where(Staff.active.is_(True))
    if role:
        stmt = stmt.where(Staff.role == role)
    return list((await session.scalars(stmt.order_by(Staff.id))).all())



async def staff_by_key(session: AsyncSession, key: str) -> Staff | None:
    """A staff member by roster key."""
    return await session.scalar(select(Staff).where(Staff.key == key))
