"""The update processing model.

* Updates of different chats run concurrently; updates of one chat run strictly in arrival order
  (the chat's lock is taken before the concurrency semaphore, and asyncio locks are FIFO).
* Each update runs in one database transaction together with its inbox row, its conversation
  state and its outbound messages (see ``bot.core.uow``); after the commit the replies are sent at once.
* A re-delivered update finds its inbox row already done and changes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from sqlalchemy import Table, bindparam
from sqlalchemy import update as sql_update
from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.core import uow as uow_mod
from bot.runtime.outbox import OutboxSender, blocked_chats
from storage.db import Database, rowcount
from storage.models import InboxUpdate

log = logging.getLogger(__name__)

_INBOX = cast(Table, InboxUpdate.__table__)
# built once (its cache key too), Core rather than ORM: nothing of the inbox is in the session
_MARK_DONE = (
    sql_update(_INBOX)
    .where(_INBOX.c.update_id == bindparam("uid"), _INBOX.c.status == "pending")
    .values(status="done", processed_at=bindparam("now"))
)

FailureReply = Callable[[uow_mod.UnitOfWork, Update], Awaitable[None]]


class _Rollback(Exception):
    """Raised inside the transaction to undo a failed handler's changes."""


class _Halted(Exception):
    """Raised inside the transaction of an update still running when the process was halted."""


def chat_key(update: object) -> int:
    """The ordering key of an update: its chat, else its user, else its own id."""
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
        return -update.update_id
    return 0


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Concurrent across chats, ordered within a chat, every update in its own unit of work."""

    def __init__(self, runner: UpdateRunner, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self.runner = runner
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    # PTB marks process_update final; replacing it is how updates stay in order per chat.
    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:  # type: ignore[misc]
        key = chat_key(update)
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                await super().process_update(update, coroutine)
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await self.runner.run(update, coroutine)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


class UpdateRunner:
    """Runs one update's handlers inside a transaction and sends its replies after the commit."""

    def __init__(
        self,
        db: Database,
        sender: OutboxSender,
        now: Callable[[], dt.datetime],
        on_failure: FailureReply | None = None,
        finish: uow_mod.FinishHook | None = None,
    ) -> None:
        self.db = db
        self.finish = finish  # runs at the end of each update's transaction (uow.finish_safely)
        self.sender = sender
        self.now = now
        self.on_failure = on_failure
        self.processed = 0
        self.duplicates = 0
        self.failures = 0
        self.halted = False

    def halt(self) -> None:
        """Behave as a dead process from now on (tests' crashes): updates still running roll back.

        Nothing of theirs is committed, recorded as failed or sent; their inbox rows stay pending
        under this instance's claim, for another instance (or the next start) to take over.
        """
        self.halted = True

    async def run(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Process ``update`` exactly once."""
        if not isinstance(update, Update):
            await coroutine
            return
        uow: uow_mod.UnitOfWork | None = None
        try:
            async with self.db.write() as session:
                now = self.now()
                claimed = await session.execute(_MARK_DONE, {"uid": update.update_id, "now": now})
                if rowcount(claimed) == 0:
                    self.duplicates += 1
                    _close(coroutine)
                    return
                uow = uow_mod.UnitOfWork(
                    session=session, now=now, update_id=update.update_id, claim_as=self.sender.instance
                )
                token = uow_mod.bind(uow)
                try:
                    await coroutine
                finally:
                    uow_mod.unbind(token)
                if self.halted:
                    raise _Halted
                if uow.failed is not None:
                    raise _Rollback
                await uow_mod.finish_safely(uow, self.finish)
                await session.flush()
                # in this transaction, not a session of its own after the commit
                blocked = await blocked_chats(session, uow.outbox) if uow.outbox else set()
        except _Halted:
            return
        except _Rollback:
            self.failures += 1
            await self._record_failure(update, uow)
            return
        self.processed += 1
        await self._after_commit(uow, blocked)

    async def _after_commit(self, uow: uow_mod.UnitOfWork, blocked: set[int] | None = None) -> None:
        """Send the replies and run the after-commit actions (button answers) side by side."""
        if self.halted:  # a dead process sends nothing; the outbox rows wait for the next sender
            return
        jobs = [action() for action in uow.after_commit]
        if uow.outbox:
            jobs.append(self.sender.send_now(uow.outbox, blocked))
        for result in await asyncio.gather(*jobs, return_exceptions=True):
            if isinstance(result, Exception):
                log.error("after-commit action failed: %r", result, exc_info=result)

    async def _record_failure(self, update: Update, failed: uow_mod.UnitOfWork | None) -> None:
        """The handler raised: its changes are gone; mark the update failed and apologise."""
        error = failed.failed if failed else None
        log.error("update %s failed: %r", update.update_id, error)
        async with self.db.write() as session:
            await session.execute(
                sql_update(InboxUpdate)
                .where(InboxUpdate.update_id == update.update_id)
                .values(status="failed", processed_at=self.now())
            )
            uow = uow_mod.UnitOfWork(
                session=session, now=self.now(), update_id=update.update_id, claim_as=self.sender.instance
            )
            if self.on_failure is not None:
                await self.on_failure(uow, update)
        await self._after_commit(uow)


def _close(coroutine: Awaitable[Any]) -> None:
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()
