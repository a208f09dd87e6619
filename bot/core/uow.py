"""The unit of work of one update: its database session, and the messages it wants sent.

Everything a handler changes — domain rows, conversation state, outbound messages — is written in
one transaction with the update's inbox row, so a crash or a re-delivered update never leaves
half a change behind and never acts twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.textsplit import split_html
from storage.models import OutboxMessage, TelegramUser

log = logging.getLogger(__name__)

Buttons = list[list[tuple[str, str]]]

# Priorities of outbound messages: lower goes first when the outbound rate is the bottleneck.
PRIORITY_URGENT = 0  # dispatches, escalations
PRIORITY_NOTICE = 3  # customer notices
PRIORITY_REPLY = 5  # replies to the user's own message
PRIORITY_REPORT = 8  # summaries, handover logs

DIRECT_CLAIM = dt.timedelta(seconds=30)  # how long the committing process has to send its rows


def inline_keyboard(buttons: Buttons) -> dict[str, Any]:
    """Bot API ``InlineKeyboardMarkup`` from rows of (label, callback data)."""
    return {
        "inline_keyboard": [[{"text": t, "callback_data": d} for t, d in row] for row in buttons]
    }


def message_payload(
    chat_id: int,
    text: str,
    *,
    buttons: Buttons | None = None,
    reply_markup: dict[str, Any] | None = None,
    reply_to: int | None = None,
) -> dict[str, Any]:
    """Bot API ``sendMessage`` parameters with HTML parse mode."""
    payload: dict[str, Any] = {
        "chat_id": chat_id,
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    if buttons:
        payload["reply_markup"] = inline_keyboard(buttons)
    elif reply_markup is not None:
        payload["reply_markup"] = reply_markup
    if reply_to is not None:
        payload["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
    return payload


@dataclass
class UnitOfWork:
    """State of the update being processed; reachable from handlers through ``current()``."""

    session: AsyncSession
    now: dt.datetime
    update_id: int | None = None
    outbox: list[OutboxMessage] = field(default_factory=list)
    after_commit: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    failed: BaseException | None = None
    claim_as: str | None = None  # sender instance that sends this unit's rows right after commit
    # (chat, forum topic) the update came from: messages sent to that chat go into that topic
    reply_thread: tuple[int, int] | None = None
    user: TelegramUser | None = None  # the actor's row, read once per update (handlers.base.load_actor)

    def queue(
        self,
        chat_id: int,
        method: str,
        payload: dict[str, Any],
        *,
        priority: int = PRIORITY_REPLY,
        ref: str | None = None,
        edit_ref: str | None = None,
        topic: int | None = None,
    ) -> OutboxMessage:
        """Add a Bot API call to the outbox, in this transaction. ``topic``: a ticket id, the row
        goes into that ticket's staff-group topic (its thread id is filled in when sent)."""
        if topic is None and self.reply_thread is not None and self.reply_thread[0] == chat_id \
                and method.startswith("send") and "message_thread_id" not in payload:
            payload = {**payload, "message_thread_id": self.reply_thread[1]}
        row = OutboxMessage(
            chat_id=chat_id,
            method=method,
            payload=payload,
            priority=priority,
            ref=ref,
            edit_ref=edit_ref,
            status="pending",
            attempts=0,
            next_attempt_at=self.now,
            created_at=self.now,
            topic_ticket_id=topic,
        )
        if self.claim_as is not None:
            row.claimed_by = self.claim_as
            row.claimed_until = self.now + DIRECT_CLAIM
        self.session.add(row)
        self.outbox.append(row)
        return row

    def send(
        self,
        chat_id: int,
        text: str,
        *,
        buttons: Buttons | None = None,
        reply_markup: dict[str, Any] | None = None,
        priority: int = PRIORITY_REPLY,
        ref: str | None = None,
        reply_to: int | None = None,
        topic: int | None = None,
    ) -> OutboxMessage:
        """Queue a text message (HTML); one longer than Telegram allows goes as several messages,
        split on line boundaries (the first one replies to ``reply_to``, the last one carries the
        buttons, keyboard and ``ref``). Returns the last row."""
        parts = split_html(text)
        for part in parts[:-1]:
            payload = message_payload(chat_id, part, reply_to=reply_to)
            self.queue(chat_id, "sendMessage", payload, priority=priority, topic=topic)
            reply_to = None
        payload = message_payload(
            chat_id, parts[-1], buttons=buttons, reply_markup=reply_markup, reply_to=reply_to
        )
        return self.queue(chat_id, "sendMessage", payload, priority=priority, ref=ref, topic=topic)

    def edit(
        self,
        chat_id: int,
        text: str,
        *,
        message_id: int | None = None,
        edit_ref: str | None = None,
        buttons: Buttons | None = None,
        priority: int = PRIORITY_REPLY,
    ) -> OutboxMessage:
        """Queue an edit of an earlier message, by id or by the ``ref`` it was sent with."""
        payload: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML"}
        if message_id is not None:
            payload["message_id"] = message_id
        payload["reply_markup"] = inline_keyboard(buttons or [])
        return self.queue(chat_id, "editMessageText", payload, priority=priority, edit_ref=edit_ref)


FinishHook = Callable[["UnitOfWork"], Awaitable[None]]


async def finish_safely(uow: UnitOfWork, finish: FinishHook | None) -> None:
    """Run ``finish`` at the end of the unit's transaction, in a savepoint: if it fails, its own
    changes and outbox rows are undone and the unit's are kept (the update is never lost)."""
    if finish is None:
        return
    kept = len(uow.outbox)
    try:
        async with uow.session.begin_nested():
            await finish(uow)
    except Exception:
        log.exception("finish hook failed; the update's own changes are kept")
        del uow.outbox[kept:]


_current: ContextVar[UnitOfWork | None] = ContextVar("current_uow", default=None)


def current() -> UnitOfWork:
    """The unit of work of the update being processed (raises outside update processing)."""
    uow = _current.get()
    if uow is None:
        raise RuntimeError("no unit of work: called outside update processing")
    return uow


def bind(uow: UnitOfWork | None) -> Any:
    """Make ``uow`` current for this task; returns a token for ``unbind``."""
    return _current.set(uow)


def unbind(token: Any) -> None:
    """Restore the previous unit of work."""
    _current.reset(token)
