"""What every handler shares: who is talking (role, locale), role checks, replies."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Collection, Coroutine
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from telegram import Update
from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.core import uow as uow_mod
from bot.core.callbacks import Press, decode
from bot.core.i18n import CHINESE, pick_locale, render, written_locale
from bot.core.roles import ALL, STAFF, Role
from bot.desk import Desk
from storage.models import Staff, TelegramUser
from storage.repo import upsert_user

log = logging.getLogger(__name__)


@dataclass
class Actor:
    """The person behind an update, with the unit of work of this update (its one transaction:
    ``actor.uow.session`` reads and writes, ``actor.uow.send`` queues replies)."""

    user: TelegramUser
    role: Role
    locale: str
    chat_id: int
    uow: uow_mod.UnitOfWork

    def t(self, name: str, /, **context: Any) -> str:
        """Render a template in this person's locale."""
        return render(self.locale, name, **context)

    def reply(self, name: str, /, *, buttons: uow_mod.Buttons | None = None, **context: Any) -> None:
        """Queue a templated reply to this chat."""
        self.uow.send(self.chat_id, self.t(name, **context), buttons=buttons)


class DeskContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[str, Any]]):
    """The context of every handler (``ContextTypes(context=DeskContext)`` in bot/app.py): PTB's
    context plus the desk of this instance."""

    @property
    def desk(self) -> Desk:
        """The desk services attached to the application (``bot_data["desk"]``, set by bot/app.py)."""
        desk = self.application.bot_data[DESK_KEY]
        assert isinstance(desk, Desk)
        return desk


DESK_KEY = "desk"
CONTEXT_TYPES = ContextTypes(context=DeskContext)


def pressed(update: Update, prefix: str) -> Press | None:
    """The button press of ``update`` parsed by the callback codec; ``None`` for anything malformed,
    forged beyond the codec's shapes, or of another prefix (answer it as a stale button)."""
    query = update.callback_query
    return decode(query.data if query is not None else None, prefix)


def role_of(user: TelegramUser) -> Role:
    """Staff role when linked to an active staff record, else customer."""
    if user.staff is not None and user.staff.active:
        return Role(user.staff.role)
    return Role.CUSTOMER


async def load_actor(update: Update, uow: uow_mod.UnitOfWork, default_locale: str = "zh") -> Actor | None:
    """Upsert the Telegram user of ``update`` and describe them; the row is read once per update
    (``uow.user``), and the script it writes followed once, however many guarded handlers the
    update passes through."""
    tg_user = update.effective_user
    chat = update.effective_chat
    if tg_user is None or chat is None or tg_user.is_bot:
        return None
    user = uow.user
    if user is None or user.id != tg_user.id:
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
        uow.user = user
    return Actor(user=user, role=role_of(user), locale=user.locale, chat_id=chat.id, uow=uow)


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


Handler = Callable[[Update, DeskContext, Actor], Awaitable[Any]]
Guarded = Callable[[Update, DeskContext], Coroutine[Any, Any, Any]]  # what PTB calls


def staff_group_of(context: DeskContext) -> int | None:
    """The desk's staff group (``STAFF_GROUP_ID``), if it has one."""
    return context.desk.settings.staff_group_id


def in_staff_group(update: Update, context: DeskContext) -> bool:
    """True when ``update`` comes from the desk's staff group."""
    chat = update.effective_chat
    group = staff_group_of(context)
    return chat is not None and group is not None and chat.id == group


def thread_of(update: Update) -> int | None:
    """The forum topic of the update's message (or of the message a pressed button is on)."""
    msg = update.effective_message
    if msg is None or not getattr(msg, "is_topic_message", False):  # an inaccessible message has none
        return None
    return msg.message_thread_id


async def _group_staff(update: Update, uow: uow_mod.UnitOfWork, roles: Collection[Role]) -> bool:
    """An active staff member of ``roles`` (looked up without recording anything about the user)."""
    tg_user = update.effective_user
    if tg_user is None or tg_user.is_bot:
        return False
    staff = await uow.session.scalar(select(Staff).where(Staff.telegram_user_id == tg_user.id))
    return staff is not None and staff.active and Role(staff.role) in STAFF and Role(staff.role) in roles


def guarded(roles: Collection[Role] = ALL, *, staff_group: bool = False) -> Callable[[Handler], Guarded]:
    """Load the actor, enforce ``roles``, answer the button press; then call the handler with
    the actor, who carries this update's unit of work (``actor.uow``): the one place of the edge
    that looks the unit of work up (``uow_mod.current()``, set by bot/runtime/processing.py).

    Groups are refused (``_not_in_groups``), except the desk's staff group for a handler with
    ``staff_group=True``: there only active staff of ``roles`` are served (anyone else gets
    nothing at all), and replies go into the topic the update came from."""

    def wrap(fn: Handler) -> Guarded:
        @functools.wraps(fn)
        async def inner(update: Update, context: DeskContext) -> Any:
            uow = uow_mod.current()
            chat = update.effective_chat
            if chat is not None and chat.type != "private":
                if not (staff_group and in_staff_group(update, context)):
                    return _not_in_groups(update, uow, context.desk.settings.default_locale)
                if update.callback_query is not None:
                    uow.after_commit.append(_answer_later(update.callback_query))
                if not await _group_staff(update, uow, roles):
                    log.info("staff group: %s ignored for a non-staff member", fn.__name__)
                    return None
                thread = thread_of(update)
                if thread is not None:
                    uow.reply_thread = (chat.id, thread)
                actor = await load_actor(update, uow, context.desk.settings.default_locale)
                return await fn(update, context, actor) if actor is not None else None
            actor = await load_actor(update, uow, context.desk.settings.default_locale)
            if actor is None:
                return None
            query = update.callback_query
            if query is not None:
                actor.uow.after_commit.append(_answer_later(query))
            if actor.role not in roles:
                log.info("refused %s for role %s", fn.__name__, actor.role)
                actor.reply("common/not_allowed")
                return None
            return await fn(update, context, actor)

        return inner

    return wrap


def _not_in_groups(update: Update, uow: uow_mod.UnitOfWork, default_locale: str) -> None:
    """In a group everyone reads the replies and shares one conversation: serve nothing there."""
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
