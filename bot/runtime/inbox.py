"""Receiving updates durably: store first, confirm to Telegram second, then process.

Polling only advances the ``getUpdates`` offset after the updates are in the ``inbox`` table, so a
crash never loses an update; on start, updates stored but not processed are queued again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, func, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import DBAPIError
from telegram import Bot, Update
from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut

from bot.runtime.loops import cancel_task, no_earlier_pending, start_task, wait_for_wake
from storage.db import URGENT, Database
from storage.models import InboxUpdate, OutboxMessage
from storage.repo import claim_rows, dialect_insert

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
_INBOX = cast(Table, InboxUpdate.__table__)
HELD_RETRY_SECONDS = 0.5  # how soon to ask again for an update held back (see ``Stored.held``)


def content_hash(payload: dict[str, Any]) -> str:
    """sha256 of an update's JSON (keys sorted): equal for a re-delivery, different for a new update."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class Stored:
    """What ``store_updates`` made of a batch."""

    fresh: list[Update] = field(default_factory=list)  # stored and still to be processed
    # not stored: their id belongs to an earlier update, with other content, still waiting to be
    # processed; leave them unconfirmed so Telegram delivers them again once it is done
    held: list[Update] = field(default_factory=list)
    hashes: dict[int, str] = field(default_factory=dict)  # update id → ``content_hash``, the batch's


async def store_updates(db: Database, updates: Sequence[Update], now: dt.datetime) -> Stored:
    """Insert updates into the inbox; a re-delivery (same id, same content) changes nothing.

    An id seen before with *other* content is a new update — Telegram restarts its update ids
    after a quiet week, and so does a restarted sandbox — so the finished row is replaced by it
    (and that is logged); while the earlier one is still pending the new one is held back.
    """
    result = Stored()
    if not updates:
        return result
    payloads = {u.update_id: u.to_dict() for u in updates}
    hashes = result.hashes = {uid: content_hash(p) for uid, p in payloads.items()}
    rows: list[dict[str, Any]] = [
        {
            "update_id": u.update_id,
            "chat_id": u.effective_chat.id if u.effective_chat else None,
            "payload": payloads[u.update_id],
            "content_hash": hashes[u.update_id],
            "received_at": now,
            "status": "pending",
        }
        for u in updates
    ]
    async with db.write(URGENT) as s:  # every later update waits for this batch
        # one statement with the rows as its parameters (SQLAlchemy's "insertmanyvalues"): its
        # compiled form is cached, where ``.values(rows)`` made a new statement per batch size
        stored_now = dialect_insert(s, _INBOX).on_conflict_do_nothing().returning(_INBOX.c.update_id)
        inserted = set((await s.scalars(stored_now, rows)).all())
        known: dict[int, tuple[str, str | None]] = {uid: ("pending", hashes[uid]) for uid in inserted}
        seen_before = [uid for uid in payloads if uid not in inserted]
        if seen_before:  # re-deliveries and re-used ids: what is stored under them
            stored = (
                await s.execute(
                    select(InboxUpdate.update_id, InboxUpdate.status, InboxUpdate.content_hash)
                    .where(InboxUpdate.update_id.in_(seen_before))
                )
            ).all()
            known.update({uid: (status, digest) for uid, status, digest in stored})
        unhashed = [uid for uid, (_, digest) in known.items() if digest is None]
        if unhashed:  # rows stored before hashes were kept
            for uid, payload in (
                await s.execute(
                    select(InboxUpdate.update_id, InboxUpdate.payload)
                    .where(InboxUpdate.update_id.in_(unhashed))
                )
            ).all():
                known[uid] = (known[uid][0], content_hash(payload))
        for row, u in zip(rows, updates, strict=True):
            status, digest = known[u.update_id]
            if digest == row["content_hash"]:
                if status == "pending":
                    result.fresh.append(u)
                continue  # a re-delivery of what was processed already
            if status == "pending":
                log.warning("update id %s re-used while the earlier update is pending: held", u.update_id)
                result.held.append(u)
                continue
            log.warning("update id %s re-used with other content: processed as a new update", u.update_id)
            await s.execute(
                sql_update(InboxUpdate)
                .where(InboxUpdate.update_id == u.update_id)
                .values(**row, processed_at=None, claimed_by=None, claimed_until=None)
            )
            result.fresh.append(u)
    return result


async def seen_ids(db: Database) -> tuple[int, int]:
    """The highest update id and message id the database knows (0, 0 when empty or unmigrated).

    The sandbox starts above them, so a bot restarted on the same data is not handed ids it has
    processed before. Message ids come from the bot's sent messages and the users' updates.
    """
    payload = InboxUpdate.payload
    message_ids = [
        payload[kind]["message_id"].as_integer() for kind in ("message", "edited_message")
    ] + [payload["callback_query"]["message"]["message_id"].as_integer()]
    try:
        async with db.read() as s:
            top_update = await s.scalar(select(func.max(InboxUpdate.update_id)))
            tops = (await s.execute(select(*(func.max(m) for m in message_ids)))).one()
            top_sent = await s.scalar(select(func.max(OutboxMessage.message_id)))
    except DBAPIError:  # no tables yet: a new database
        return 0, 0
    return int(top_update or 0), max(int(v or 0) for v in (*tops, top_sent))


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
        self._queued: dict[tuple[int, str], None] = {}  # (update id, content hash), oldest first

    async def _enqueue(self, updates: Sequence[Update], hashes: Mapping[int, str] | None = None) -> None:
        """Queue ``updates`` not queued before (``hashes``: their content hashes, if known)."""
        for u in updates:
            digest = hashes.get(u.update_id) if hashes is not None else None
            key = (u.update_id, digest if digest is not None else content_hash(u.to_dict()))
            if key in self._queued:
                continue
            self._queued[key] = None
            await self.queue.put(u)
        if len(self._queued) > 100_000:
            self._queued = dict.fromkeys(list(self._queued)[-10_000:])

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
            stored = await store_updates(self.db, updates, self.now())
            # confirmed only now that they are stored; a held one (and what follows) comes again
            held = {u.update_id for u in stored.held}
            offset = next((u.update_id for u in updates if u.update_id in held), updates[-1].update_id + 1)
            await self._enqueue(stored.fresh, stored.hashes)  # hashed once, in store_updates
            if held:
                await asyncio.sleep(HELD_RETRY_SECONDS)

    def start(self) -> None:
        """Start polling in the background."""
        self._task = asyncio.create_task(self.run(), name="poller")

    async def stop(self) -> None:
        """Stop polling."""
        task, self._task = self._task, None
        await cancel_task(task)


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

    def _eligible(self, now: dt.datetime):
        return (
            select(InboxUpdate)
            .where(
                InboxUpdate.status == "pending",
                or_(InboxUpdate.claimed_until.is_(None), InboxUpdate.claimed_until < now),
                or_(InboxUpdate.chat_id.is_(None), no_earlier_pending(InboxUpdate, "update_id")),
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
            await wait_for_wake(self.wake, self.idle)

    def start(self) -> None:
        """Start claiming in the background."""
        if self._task is None:
            self._stopping = False
            self._task = start_task(None, self.run, "inbox-claimer")

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
        await cancel_task(task)
