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

from sqlalchemy import exists, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from telegram import Bot, Update
from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut

from storage.db import Database
from storage.models import InboxUpdate
from storage.repo import claim_rows

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


class InboxClaimer:
    """Feeds stored updates to this instance's queue, sharing the inbox with other instances.

    Used in webhook mode, where any instance may receive any update: a row is claimed with
    ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; the single writer on SQLite) for ``claim_seconds``,
    and only when no earlier update of the same chat is still pending — so one chat's updates
    are processed in order even when consecutive ones reached different instances. Rows claimed
    by an instance that died become claimable again when the claim runs out.
    """

    def __init__(
        self,
        db: Database,
        bot: Bot,
        queue: asyncio.Queue[object],
        now: Callable[[], dt.datetime],
        instance: str,
        *,
        claim_seconds: float = 60.0,
        idle: float = 0.5,
    ) -> None:
        self.db = db
        self.bot = bot
        self.queue = queue
        self.now = now
        self.instance = instance
        self.claim_seconds = claim_seconds
        self.idle = idle
        self.wake = asyncio.Event()
        self.claimed = 0
        self.outstanding: set[int] = set()  # queued by us, not yet finished (see ``done``)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def done(self, update_id: int) -> None:
        """An update this claimer queued has been processed: its chat's next one may go."""
        self.outstanding.discard(update_id)
        self.wake.set()

    async def _enqueue(self, updates: list[Update]) -> None:
        for u in updates:
            self.outstanding.add(u.update_id)
            await self.queue.put(u)

    async def drain(self, seconds: float) -> bool:
        """Process everything this instance can still claim (graceful shutdown); True if done."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            updates = await self.claim()
            await self._enqueue(updates)
            if not updates and not self.outstanding:
                return True
            await asyncio.sleep(0.02)
        return False

    def _eligible(self, now: dt.datetime):  # type: ignore[no-untyped-def]
        earlier = aliased(InboxUpdate)
        blocked = exists().where(
            earlier.chat_id == InboxUpdate.chat_id,
            earlier.update_id < InboxUpdate.update_id,
            earlier.status == "pending",
        )
        return (
            select(InboxUpdate)
            .where(
                InboxUpdate.status == "pending",
                or_(InboxUpdate.claimed_until.is_(None), InboxUpdate.claimed_until < now),
                or_(InboxUpdate.chat_id.is_(None), ~blocked),
            )
            .order_by(InboxUpdate.update_id)
        )

    async def claim(self, limit: int = 100) -> list[Update]:
        """Claim the due updates (the earliest pending one of each chat) for this instance."""
        now = self.now()
        async with self.db.write() as s:
            rows = await claim_rows(
                s, self._eligible(now).limit(limit), InboxUpdate.update_id, self.instance,
                now + dt.timedelta(seconds=self.claim_seconds),
            )
        self.claimed += len(rows)
        return [u for r in rows if (u := Update.de_json(r.payload, self.bot)) is not None]

    async def run(self) -> None:
        """Claim and queue until stopped; wakes on new or finished updates, else polls."""
        while not self._stopping:
            self.wake.clear()
            try:
                updates = await self.claim()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep claiming whatever happens (e.g. the database restarts)
                log.exception("inbox claim failed")
                updates = []
            await self._enqueue(updates)
            if updates:
                continue
            with contextlib.suppress(TimeoutError):  # not wait_for: on 3.11 it can swallow a cancel
                async with asyncio.timeout(self.idle):
                    await self.wake.wait()

    def start(self) -> None:
        """Start claiming in the background."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self.run(), name="inbox-claimer")

    async def stop(self, *, abrupt: bool = False) -> None:
        """Stop claiming. Gracefully, a claim under way is queued first (never half done);
        ``abrupt`` cancels (what was claimed falls to others when the claim runs out)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self.wake.set()
        if not abrupt:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await asyncio.shield(task)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
