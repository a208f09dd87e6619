"""Receiving updates durably: store first, confirm to Telegram second, then process.

Polling only advances the ``getUpdates`` offset after the updates are in the ``inbox`` table, so a
crash never loses an update; on start, updates stored but not processed are queued again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from telegram import Bot, Update
from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut

from storage.db import Database
from storage.models import InboxUpdate

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


async def store_updates(
    db: Database, updates: Sequence[Update], now: dt.datetime
) -> list[Update]:
    """Insert updates into the inbox; return those that still need processing."""
    if not updates:
        return []
    rows: list[dict[str, Any]] = [
        {
            "update_id": u.update_id,
            "chat_id": u.effective_chat.id if u.effective_chat else None,
            "payload": u.to_dict(),
            "received_at": now,
            "status": "pending",
        }
        for u in updates
    ]
    insert = pg_insert if not db.is_sqlite else sqlite_insert
    ids = [u.update_id for u in updates]
    async with db.write() as s:
        await s.execute(insert(InboxUpdate).values(rows).on_conflict_do_nothing())
        pending = set(
            (
                await s.scalars(
                    select(InboxUpdate.update_id).where(
                        InboxUpdate.update_id.in_(ids), InboxUpdate.status == "pending"
                    )
                )
            ).all()
        )
    return [u for u in updates if u.update_id in pending]


async def pending_updates(db: Database, bot: Bot) -> list[Update]:
    """Updates stored by an earlier run but never processed (e.g. after a crash)."""
    async with db.read() as s:
        payloads = (
            await s.scalars(
                select(InboxUpdate.payload)
                .where(InboxUpdate.status == "pending")
                .order_by(InboxUpdate.update_id)
            )
        ).all()
    return [u for p in payloads if (u := Update.de_json(p, bot)) is not None]


class Poller:
    """Long-polls ``getUpdates`` and feeds stored updates to the application's queue."""

    def __init__(
        self,
        db: Database,
        bot: Bot,
        queue: asyncio.Queue[object],
        now: Callable[[], dt.datetime],
        *,
        timeout: int = 10,
    ) -> None:
        self.db = db
        self.bot = bot
        self.queue = queue
        self.now = now
        self.timeout = timeout
        self._task: asyncio.Task[None] | None = None
        self._queued: set[int] = set()

    async def _enqueue(self, updates: Sequence[Update]) -> None:
        for u in updates:
            if u.update_id in self._queued:
                continue
            self._queued.add(u.update_id)
            await self.queue.put(u)
        if len(self._queued) > 100_000:
            self._queued = set(sorted(self._queued)[-10_000:])

    async def run(self) -> None:
        """Poll until cancelled."""
        await self._enqueue(await pending_updates(self.db, self.bot))
        offset: int | None = None
        failures = 0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset,
                    timeout=self.timeout,
                    allowed_updates=ALLOWED_UPDATES,
                    read_timeout=self.timeout + 5,
                )
                failures = 0
            except RetryAfter as exc:
                retry = exc.retry_after
                await asyncio.sleep(
                    retry.total_seconds() if isinstance(retry, dt.timedelta) else float(retry)
                )
                continue
            except (TimedOut, NetworkError, TelegramError) as exc:
                failures += 1
                delay = min(30.0, 0.5 * 2**failures)
                log.warning("getUpdates failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            if not updates:
                continue
            fresh = await store_updates(self.db, updates, self.now())
            offset = updates[-1].update_id + 1  # confirmed only now that they are stored
            await self._enqueue(fresh)

    def start(self) -> None:
        """Start polling in the background."""
        self._task = asyncio.create_task(self.run(), name="poller")

    async def stop(self) -> None:
        """Stop polling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
