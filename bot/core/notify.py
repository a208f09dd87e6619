"""Rendering a message for a person in their own language, and queueing it (no Telegram here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import uow as uow_mod
from bot.core.i18n import render
from storage.models import TelegramUser


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


