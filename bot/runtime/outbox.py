"""The outbox sender: delivers queued Bot API calls in order per chat, with retries.

Rows are claimed atomically (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; the single writer on SQLite),
429 answers are honoured with their ``retry_after``, transient errors back off exponentially, and
a permanent refusal (blocked bot, bad request) marks the row dead with the reason — never dropped
silently.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, cast

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.runtime.botapi import call, without_uploads
from bot.runtime.loops import cancel_task, no_earlier_pending, start_task, wait_for_wake
from bot.runtime.pacing import OUTBOUND_PRIORITY, retry_seconds
from storage.db import Database
from storage.models import OutboxMessage, TicketTopic
from storage.repo import claim_rows

log = logging.getLogger(__name__)

CLAIM_SECONDS = 60
MAX_IN_FLIGHT = 64  # the loop's sends under way at once (one per chat)
QUEUE_BEHIND_SECONDS = 20.0  # a direct send waits this long behind an earlier one (claims last 30 s)
TOO_LARGE = "Request Entity Too Large"  # an upload over Telegram's size limit
MAX_BACKOFF = 120.0


def backoff(attempts: int) -> float:
    """Seconds to wait after ``attempts`` failures: 1, 2, 4 … capped."""
    return min(MAX_BACKOFF, 2.0 ** max(0, attempts - 1))


_OUTBOX = cast(Table, OutboxMessage.__table__)
_TOPICS = cast(Table, TicketTopic.__table__)
CREATE_TOPIC = "createForumTopic"


async def _record(s: AsyncSession, row: OutboxMessage, values: dict[str, object]) -> None:
    """Write the outcome of one attempt (a Core UPDATE: the session holds no outbox objects); a
    created forum topic's thread id (and the message id of the card in it) goes to its ticket's
    ``ticket_topics`` row in the same write."""
    await s.execute(update(_OUTBOX).where(_OUTBOX.c.id == row.id).values(**values))
    sent_id, ticket_id = values.get("message_id"), row.topic_ticket_id
    if ticket_id is None or sent_id is None:
        return
    if row.method == CREATE_TOPIC:
        column = "message_thread_id"
    elif row.ref == f"dispatch:{ticket_id}":  # the topic's dispatch card (bot.dispatch.cards.card_ref)
        column = "card_message_id"
    else:
        return
    await s.execute(update(_TOPICS).where(_TOPICS.c.ticket_id == ticket_id).values({column: sent_id}))


class OutcomeRecorder:
    """Records sends' outcomes, those that arrive together in one write (a group commit).

    Every send's outcome is committed before its ``record`` returns, as with a write of its own;
    outcomes that come in while a write is waiting for SQLite's one writer (or under way) share
    the next one, so at 40 replies a second the outbox costs a transaction per batch, not per
    message. A failed write fails every ``record`` it held (the claims run out; rows are retried).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._queued: list[tuple[OutboxMessage, dict[str, object], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.writes = 0

    async def record(self, row: OutboxMessage, values: dict[str, object]) -> None:
        """Write ``values`` to ``row`` (and its topic); returns once committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((row, values, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all(), name="outbox-record")
        await asyncio.shield(done)  # a cancelled sender does not cancel the others' write

    async def _write_all(self) -> None:
        while self._queued:
            batch: list[tuple[OutboxMessage, dict[str, object], asyncio.Future[None]]] = []
            try:
                async with self.db.write() as s:
                    batch, self._queued = self._queued, []  # all that came while waiting
                    for row, values, _ in batch:
                        await _record(s, row, values)
            except Exception as exc:  # handed to every waiter of this write
                if not batch:  # failed before taking its batch (no connection): fail those queued
                    batch, self._queued = self._queued, []
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            self.writes += 1
            for _, _, done in batch:
                if not done.done():
                    done.set_result(None)


def _not_modified(message: str) -> bool:
    """Telegram's "message is not modified" / ``TOPIC_NOT_MODIFIED``: the wanted state is there."""
    text = message.lower()
    return "not modified" in text or "not_modified" in text


async def blocked_chats(s: AsyncSession, rows: Sequence[OutboxMessage]) -> set[int]:
    """Chats of ``rows`` that still have an earlier pending row outside ``rows``.

    One indexed query (``ix_outbox_chat``) against the shared table, so it holds across
    instances: a row another instance failed to send blocks this one's later rows too. Run in
    the transaction that queued ``rows`` (they need their ids: flushed), it costs no session of
    its own; a row found pending there may be sent meanwhile, which only sends ours via the loop.
    """
    last: dict[int, int] = {}
    for row in rows:
        last[row.chat_id] = max(row.id, last.get(row.chat_id, row.id))
    found = await s.scalars(
        select(OutboxMessage.chat_id)
        .where(
            or_(*(
                (OutboxMessage.chat_id == chat) & (OutboxMessage.id < top)
                for chat, top in last.items()
            )),
            OutboxMessage.status == "pending",
            OutboxMessage.id.not_in([r.id for r in rows]),
        )
        .distinct()
    )
    return set(found.all())


class OutboxSender:
    """Background task sending outbox rows; also sends a handler's rows right after its commit."""

    def __init__(self, db: Database, bot: Bot | None, now: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.bot = bot
        self.now = now
        self.instance = f"out-{uuid.uuid4().hex[:8]}"
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()  # the loop's sends under way
        # chats whose rows a direct send handed back to the loop while an earlier row was on its
        # way: the loop is woken when that one is sent (else it would wait for its idle poll)
        self._handed_back: set[int] = set()
        self._tails: dict[int, asyncio.Task[None]] = {}  # per chat: the latest send under way here
        self.sent = 0
        self.failed = 0
        self.outcomes = OutcomeRecorder(db)

    # --- claiming ---------------------------------------------------------------------------

    def _eligible(self, now: dt.datetime):
        return (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
                no_earlier_pending(OutboxMessage, "id"),
            )
            .order_by(OutboxMessage.priority, OutboxMessage.id)
        )

    async def claim(self, limit: int = 50) -> list[OutboxMessage]:
        """Claim due rows (at most one per chat, the earliest) for this sender."""
        now = self.now()
        async with self.db.read() as s:  # a look first: most wake-ups find nothing to claim, and
            if await s.scalar(self._eligible(now).with_only_columns(OutboxMessage.id).limit(1)) is None:
                return []  # then need not queue for SQLite's one writer (timers and updates do)
        async with self.db.write() as s:
            rows = await claim_rows(
                s, self._eligible(now).limit(limit), OutboxMessage.id, self.instance,
                now + dt.timedelta(seconds=CLAIM_SECONDS),
            )
        return rows

    # --- delivering -------------------------------------------------------------------------

    async def _resolve_edit(self, row: OutboxMessage) -> bool:
        """Fill in the message id of an edit that refers to an earlier message by ref."""
        if not row.edit_ref or "message_id" in row.payload:
            return True
        async with self.db.read() as s:
            mid = await s.scalar(
                select(OutboxMessage.message_id)
                .where(
                    OutboxMessage.ref == row.edit_ref,
                    OutboxMessage.chat_id == row.chat_id,
                    OutboxMessage.message_id.is_not(None),
                )
                .order_by(OutboxMessage.id.desc())
                .limit(1)
            )
        if mid is None:
            return False
        row.payload = {**row.payload, "message_id": mid}
        return True

    async def _resolve_topic(self, row: OutboxMessage) -> bool:
        """Fill in the forum topic of a row aimed at a ticket's topic (created by an earlier row of
        the chat, which per-chat order sends first); False when the topic was never created."""
        if row.topic_ticket_id is None or row.method == CREATE_TOPIC or "message_thread_id" in row.payload:
            return True
        async with self.db.read() as s:
            thread = await s.scalar(
                select(TicketTopic.message_thread_id).where(TicketTopic.ticket_id == row.topic_ticket_id)
            )
        if thread is None:
            return False
        row.payload = {**row.payload, "message_thread_id": thread}
        return True

    async def deliver(self, row: OutboxMessage) -> bool:
        """Try one row once and record the outcome; True when the row is finished."""
        values = await self._attempt(row)
        await self.outcomes.record(row, values)
        return "status" in values

    async def _attempt(self, row: OutboxMessage) -> dict[str, object]:
        """Try one row once; the column values that record the outcome (``status`` if finished)."""
        values: dict[str, object]
        try:
            if not await self._resolve_edit(row):
                raise BadRequest("message to edit was never sent")
            if not await self._resolve_topic(row):
                raise BadRequest("the ticket's forum topic was never created")
            assert self.bot is not None, "sender has no bot"
            token = OUTBOUND_PRIORITY.set(row.priority)
            try:
                message_id = await call(self.bot, row.method, row.payload)
            finally:
                OUTBOUND_PRIORITY.reset(token)
        except RetryAfter as exc:
            seconds = retry_seconds(exc)
            values = self._retry(row, seconds, f"429 retry after {seconds}s", count=False)
        except BadRequest as exc:
            if _not_modified(exc.message):
                values = {"status": "sent", "sent_at": self.now()}
            else:
                values = self._dead(row, f"400 {exc.message}")
        except Forbidden as exc:
            values = self._dead(row, f"403 {exc.message}")
        except (TelegramError, OSError) as exc:
            if TOO_LARGE in str(exc):  # HTTP 413 comes as a NetworkError: retrying cannot help
                values = self._dead(row, f"413 {exc}")
            else:
                values = self._retry(row, backoff(row.attempts + 1), f"{type(exc).__name__}: {exc}")
        else:
            self.sent += 1
            values = {"status": "sent", "sent_at": self.now(), "message_id": message_id}
            slim = without_uploads(row.payload)
            if slim is not None:  # a sent file need not stay in the database
                values["payload"] = slim
        values.setdefault("claimed_by", None)
        values.setdefault("claimed_until", None)
        return values

    def _retry(
        self, row: OutboxMessage, seconds: float, error: str, *, count: bool = True
    ) -> dict[str, object]:
        log.warning("outbox %s %s to chat %s: %s", row.id, row.method, row.chat_id, error)
        return {
            "attempts": row.attempts + (1 if count else 0),
            "next_attempt_at": self.now() + dt.timedelta(seconds=seconds),
            "last_error": error[:500],
        }

    def _dead(self, row: OutboxMessage, error: str) -> dict[str, object]:
        self.failed += 1
        log.error("outbox %s %s to chat %s refused: %s", row.id, row.method, row.chat_id, error)
        return {"status": "dead", "attempts": row.attempts + 1, "last_error": error[:500]}

    async def _blocked_chats(self, rows: Sequence[OutboxMessage]) -> set[int]:
        """Chats of ``rows`` that still have an earlier pending row outside ``rows`` (own session)."""
        async with self.db.read() as s:
            return await blocked_chats(s, rows)

    async def _release(self, rows: Sequence[OutboxMessage]) -> None:
        """Hand rows claimed for a direct send back to the loop (it sends them in order)."""
        if rows:
            self._handed_back.update(r.chat_id for r in rows)  # before: the earlier row may finish now
            async with self.db.write() as s:
                await s.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_([r.id for r in rows]))
                    .values(claimed_by=None, claimed_until=None)
                )
            self.wake.set()

    async def _send_chat(self, rows: Sequence[OutboxMessage]) -> None:
        """One chat's rows in order; on the first failure the rest go back to the loop."""
        for i, row in enumerate(rows):
            if not await self.deliver(row):
                await self._release(rows[i + 1 :])
                self.wake.set()
                return
        if rows and rows[0].chat_id in self._handed_back:  # rows queued behind these may go now
            self._handed_back.discard(rows[0].chat_id)
            self.wake.set()

    def _track(self, chat_id: int, job: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``job`` (sends to ``chat_id``) as the chat's latest send under way here."""
        task = asyncio.create_task(job, name=f"outbox-{chat_id}")
        self._tails[chat_id] = task
        self._in_flight.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._in_flight.discard(done)
            if self._tails.get(chat_id) is done:
                del self._tails[chat_id]

        task.add_done_callback(finished)
        return task

    async def _send_after(self, before: asyncio.Task[None], rows: Sequence[OutboxMessage]) -> None:
        """Send one chat's rows once this instance's earlier send to the chat is done (if that one
        left a row pending, or takes too long for our claim, they go to the loop instead)."""
        await asyncio.wait({before}, timeout=QUEUE_BEHIND_SECONDS)
        if before.done() and not await self._blocked_chats(rows):
            await self._send_chat(rows)
        else:
            await self._release(rows)

    async def send_now(self, rows: Sequence[OutboxMessage], blocked: set[int] | None = None) -> None:
        """Deliver a committed handler's rows at once: chats side by side, each chat in order.

        A direct send never overtakes an earlier row of its chat still pending in the outbox
        (one indexed query, so it holds across instances): behind this instance's own send to
        the chat the rows go right after it, in the background; behind anything else (a failed
        send waiting for its retry, another instance) they go to the loop, which sends them in
        order. ``blocked``: the rows' ``blocked_chats`` found in the transaction that queued them
        (else looked up here).
        """
        if not rows:
            return
        if blocked is None:
            blocked = await self._blocked_chats(rows)
        by_chat: dict[int, list[OutboxMessage]] = {}
        for row in rows:
            by_chat.setdefault(row.chat_id, []).append(row)
        now: list[Awaitable[None]] = []
        for chat, chat_rows in by_chat.items():
            before = self._tails.get(chat)
            if chat not in blocked:
                now.append(self._track(chat, self._send_chat(chat_rows)))
            elif before is not None:
                self._track(chat, self._send_after(before, chat_rows))
            else:
                now.append(self._release(chat_rows))
        await asyncio.gather(*now)

    # --- the loop ---------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim and deliver one batch; returns how many rows were tried."""
        rows = await self.claim()  # at most one per chat: the earliest pending row
        await asyncio.gather(*(self.deliver(r) for r in rows))
        return len(rows)

    async def _send_in_turn(self, row: OutboxMessage) -> None:
        """Send ``row``, then its chat's next due rows back to back, until one fails or none is due.

        The next row is claimed in the transaction that records the one before, so a chat's
        backlog costs one write per row rather than one round of the loop per row.
        """
        current: OutboxMessage | None = row
        try:
            while current is not None:
                values = await self._attempt(current)
                async with self.db.write() as s:
                    await _record(s, current, values)
                    current = None
                    if "status" in values:  # finished: the chat's next row may go
                        now = self.now()
                        claimed = await claim_rows(
                            s, self._eligible(now).where(OutboxMessage.chat_id == row.chat_id).limit(1),
                            OutboxMessage.id, self.instance, now + dt.timedelta(seconds=CLAIM_SECONDS),
                        )
                        current = claimed[0] if claimed else None
        except Exception:  # the claim runs out and the row is tried again
            log.exception("outbox: sending to chat %s failed", row.chat_id)
        finally:
            self.wake.set()

    async def run(self, idle_seconds: float = 1.0) -> None:
        """Send forever: wakes on new rows and finished sends, otherwise polls for due retries.

        Every claimed row is sent in a task of its own, so a slow send (a timeout) holds up only
        its own chat; the chat's next row is claimable once it is done (the claim's order rule).
        """
        while True:
            self.wake.clear()
            rows: list[OutboxMessage] = []
            room = MAX_IN_FLIGHT - len(self._in_flight)
            if room > 0:
                try:
                    rows = await self.claim(room)
                except asyncio.CancelledError:
                    raise
                except Exception:  # keep the sender alive whatever happens
                    log.exception("outbox loop error")
            for row in rows:
                self._track(row.chat_id, self._send_in_turn(row))
            if rows:
                continue
            await wait_for_wake(self.wake, idle_seconds)

    def start(self) -> None:
        """Start the background loop."""
        self._task = start_task(self._task, self.run, "outbox-sender")

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Stop the background loop; sends under way get ``grace_seconds`` to finish."""
        task, self._task = self._task, None
        await cancel_task(task)
        if self._in_flight:
            _, late = await asyncio.wait(set(self._in_flight), timeout=grace_seconds)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def pending(self) -> int:
        """Rows still waiting to be sent."""
        async with self.db.read() as s:
            return int(
                await s.scalar(
                    select(func.count()).select_from(OutboxMessage).where(
                        OutboxMessage.status == "pending"
                    )
                )
                or 0
            )

    async def flush(self, limit_seconds: float = 10.0) -> bool:
        """Send until nothing due is left (or the timeout passes); True when drained."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_seconds
        while loop.time() < deadline:
            if await self.run_once() == 0:
                now = self.now()
                async with self.db.read() as s:
                    due = await s.scalar(
                        select(OutboxMessage.id)
                        .where(
                            OutboxMessage.status == "pending",
                            OutboxMessage.next_attempt_at <= now,
                        )
                        .limit(1)
                    )
                if due is None:
                    return True
                await asyncio.sleep(0.05)
        return False
