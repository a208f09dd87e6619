"""What every handler shares: who is talking (role, locale), role checks, replies."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Collection, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.core import uow as uow_mod
from bot.core.i18n import CHINESE, pick_locale, render, written_locale
from bot.desk import Desk
from storage.models import TelegramUser
from storage.repo import upsert_user

log = logging.getLogger(__name__)

ROLES = ("customer", "engineer", "supervisor", "admin")
STAFF_ROLES = frozenset({"engineer", "supervisor", "admin"})
MANAGERS = frozenset({"supervisor", "admin"})


@dataclass
class Actor:
    """The person behind an update."""

    user: TelegramUser
    role: str
    locale: str
    chat_id: int

    def t(self, name: str, /, **context: Any) -> str:
        """Render a template in this person's locale."""
        return render(self.locale, name, **context)

    def reply(self, name: str, /, *, buttons: uow_mod.Buttons | None = None, **context: Any) -> None:
        """Queue a templated reply to this chat."""
        uow_mod.current().send(self.chat_id, self.t(name, **context), buttons=buttons)


def desk_of(context: ContextTypes.DEFAULT_TYPE) -> Desk:
    """The desk services attached to the application."""
    return context.application.bot_data["desk"]


def role_of(user: TelegramUser) -> str:
    """Staff role when linked to an active staff record, else customer."""
    if user.staff is not None and user.staff.active:
        return user.staff.role
    return "customer"


async def load_actor(update: Update, default_locale: str = "zh") -> Actor | None:
    """Upsert the Telegram user of ``update`` and describe them."""
    tg_user = update.effective_user
    chat = update.effective_chat
    if tg_user is None or chat is None or tg_user.is_bot:
        return None
    uow = uow_mod.current()
    user = await upsert_user(
        uow.session,
        user_id=tg_user.id,
        first_name=tg_user.first_name or "",
        last_name=tg_user.last_name,
        username=tg_user.username,
        locale=pick_locale(tg_user.language_code, default_locale),
        now=uow.now,
    )
    _follow_script(user, update)
    return Actor(user=user, role=role_of(user), locale=user.locale, chat_id=chat.id)


def _follow_script(user: TelegramUser, update: Update) -> None:
    """Someone who has not chosen a language and writes Chinese is answered in the script they
    write (Traditional or Simplified) from now on — the derived locale is stored, so their button
    presses and later notices follow it too. English is derived only from questions (handlers/
    questions.py): a Latin model number or name in a form says nothing about the language."""
    msg = update.message
    text = (msg.text or msg.caption or "") if msg is not None else ""
    if user.locale_chosen or user.locale not in CHINESE or not text or text.startswith("/"):
        return
    user.locale = written_locale(text, user.locale)


Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE, Actor], Awaitable[Any]]
Guarded = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, Any]]  # what PTB calls


def guarded(roles: Collection[str] = ROLES) -> Callable[[Handler], Guarded]:
    """Load the actor, enforce ``roles``, answer the button press; then call the handler."""

    def wrap(fn: Handler) -> Guarded:
        @functools.wraps(fn)
        async def inner(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Any:
            if update.effective_chat is not None and update.effective_chat.type != "private":
                return _not_in_groups(update, desk_of(context).settings.default_locale)
            actor = await load_actor(update, desk_of(context).settings.default_locale)
            if actor is None:
                return None
            query = update.callback_query
            if query is not None:
                uow_mod.current().after_commit.append(_answer_later(query))
            if actor.role not in roles:
                log.info("refused %s for role %s", fn.__name__, actor.role)
                actor.reply("common/not_allowed")
                return None
            return await fn(update, context, actor)

        return inner

    return wrap


def _not_in_groups(update: Update, default_locale: str) -> None:
    """In a group everyone reads the replies and shares one conversation: serve nothing there."""
    uow = uow_mod.current()
    if update.callback_query is not None:
        uow.after_commit.append(_answer_later(update.callback_query))
    msg, chat = update.effective_message, update.effective_chat
    if msg is not None and chat is not None and (msg.text or "").startswith("/"):
        tg_user = update.effective_user
        uow.send(chat.id, render(pick_locale(tg_user.language_code if tg_user else None, default_locale),
                                 "common/private_only"))


def _answer_later(query: Any) -> Callable[[], Awaitable[Any]]:
    async def answer() -> None:
        try:
            await query.answer()
        except Exception:  # an old query cannot be answered; nothing to do
            log.debug("callback query %s not answered", query.id)

    return answer


async def apologise(uow: uow_mod.UnitOfWork, update: Update) -> None:
    """After a handler crashed: tell the user, in their language, that nothing was lost."""
    if update.callback_query is not None:  # the press is answered even though its handler failed
        uow.after_commit.append(_answer_later(update.callback_query))
    chat = update.effective_chat
    if chat is None:
        return
    tg_user = update.effective_user
    locale = pick_locale(tg_user.language_code if tg_user else None)
    if tg_user is not None:
        user = await uow.session.get(TelegramUser, tg_user.id)
        if user is not None:
            locale = user.locale
    uow.send(chat.id, render(locale, "common/error"))
