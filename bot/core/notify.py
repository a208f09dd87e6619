"""Rendering a message for a person in their own language, and queueing it (no Telegram here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import uow as uow_mod
from bot.core.i18n import render
from storage.models import Staff, TelegramUser


async def locale_of(session: AsyncSession, user_id: int, default: str) -> str:
    """The locale a Telegram user chose or was given."""
    user = await session.get(TelegramUser, user_id)
    return user.locale if user is not None else default


async def tell(
    uow: uow_mod.UnitOfWork,
    user_id: int,
    template: str,
    *,
    default_locale: str,
    buttons_of: Any = None,
    priority: int = uow_mod.PRIORITY_NOTICE,
    ref: str | None = None,
    **context: Any,
) -> None:
    """Queue ``template`` for ``user_id`` in their locale; ``buttons_of(locale)`` builds buttons."""
    locale = await locale_of(uow.session, user_id, default_locale)
    text = render(locale, template, **context)
    buttons = buttons_of(locale) if buttons_of else None
    uow.send(user_id, text, buttons=buttons, priority=priority, ref=ref)


async def active_staff(session: AsyncSession, role: str | None = None) -> list[Staff]:
    """Active staff, optionally of one role."""
    stmt = select(Staff).where(Staff.active.is_(True))
    if role:
        stmt = stmt.where(Staff.role == role)
    return list((await session.scalars(stmt.order_by(Staff.id))).all())


async def staff_by_key(session: AsyncSession, key: str) -> Staff | None:
    """A staff member by roster key."""
    return await session.scalar(select(Staff).where(Staff.key == key))
