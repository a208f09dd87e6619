"""Runs before every other handler: the per-user flood limit and the audit of admin commands."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.core import uow as uow_mod
from bot.core.i18n import pick_locale, render
from bot.core.logs import mask_phones
from bot.core.ratelimit import DROP, SERVE
from bot.core.roles import Role
from handlers.base import DeskContext
from storage.models import AuditEntry, Staff, TelegramUser

log = logging.getLogger(__name__)

ADMIN_COMMANDS = frozenset({"staff", "calendar"})  # admin-only commands: every use (or attempt) is audited
GUARD_GROUP = -100


async def _role(session: Any, user_id: int) -> Role:
    """Staff role of an active staff member linked to this Telegram account, else customer."""
    staff = await session.scalar(select(Staff).where(Staff.telegram_user_id == user_id))
    return Role(staff.role) if staff is not None and staff.active else Role.CUSTOMER


async def _audit_admin_command(update: Update, uow: uow_mod.UnitOfWork, command: str) -> None:
    tg_user = update.effective_user
    assert tg_user is not None and update.message is not None
    role = await _role(uow.session, tg_user.id)
    uow.session.add(AuditEntry(
        at=uow.now, actor=f"tg:{tg_user.id}", action=f"command.{command}",
        data={"text": mask_phones(update.message.text or "")[:200], "role": role,
              "allowed": role == Role.ADMIN, "update_id": update.update_id},
    ))


async def guard(update: object, context: DeskContext) -> None:
    """Flood limit (customers' messages, button presses and edits), then audit admin-only commands."""
    if not isinstance(update, Update) or update.effective_user is None:
        return
    if update.message is None and update.callback_query is None and update.edited_message is None:
        return  # button presses and edits are as easy to script as messages: they count too
    tg_user = update.effective_user
    uow = uow_mod.current()  # runs before (and without) handlers.base.guarded: its own look-up
    verdict = context.desk.flood.check(tg_user.id, uow.now.timestamp())
    if verdict != SERVE and await _role(uow.session, tg_user.id) != Role.CUSTOMER:
        verdict = SERVE  # staff are never throttled: they may work through many tickets fast
    if verdict != SERVE:
        metrics = context.desk.metrics
        if metrics is not None:
            metrics.rate_limited.inc()
        chat = update.effective_chat
        if verdict != DROP and chat is not None and chat.type == "private":  # a group hears nothing
            user = await uow.session.get(TelegramUser, tg_user.id)
            locale = user.locale if user is not None else pick_locale(tg_user.language_code)
            uow.send(chat.id, render(locale, "common/slow_down"))
        log.info("flood limit: %s message of user %s", verdict, tg_user.id)
        raise ApplicationHandlerStop
    text = (update.message.text or "") if update.message is not None else ""
    if text.startswith("/"):
        command = text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else ""
        if command in ADMIN_COMMANDS:
            await _audit_admin_command(update, uow, command)


def install(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Register the guard ahead of every other handler group."""
    app.add_handler(TypeHandler(Update, guard), group=GUARD_GROUP)
