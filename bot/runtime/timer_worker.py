"""The timer worker: fires due timer rows (ack timeouts, queued dispatches, SLA checks, auto-close).

A timer is a row; the worker claims due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the single
writer on SQLite) and runs each in its own transaction together with the row's ``done`` mark, so a
crash fires it again after restart and a commit never fires it twice.

The background loop does not wait for a fired timer's messages to be delivered before firing the
next: the committed rows are handed to a tracked delivery task (a few at a time, in order per chat)
or, when many are waiting, released to the outbox sender's loop. ``stop()`` lets them finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import select, update

from bot.core import uow as uow_mod
from bot.core.timers import StartupHook, TimerHandler
from bot.runtime.loops import cancel_task, start_task, wait_for_wake
from bot.runtime.outbox import OutboxSender
from storage.db import Database
from storage.models import OutboxMessage, Timer

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6  # a failing timer is retried after 5, 10, 20, 40, 80 s, then marked failed
RETRY_BASE = 5.0
SEND_CONCURRENCY = 8  # fired timers' messages delivered at once by the worker's own tasks
SEND_BACKLOG = 64  # beyond this many waiting deliveries, rows go straight to the outbox loop
SEND_MAX_WAIT = (uow_mod.DIRECT_CLAIM / 2).total_seconds()  # older than this: leave to the loop
STOP_GRACE = 10.0  # seconds stop() waits for deliveries in flight


class TimerWorker:
    """Fires due timers; sleeps until the next one (at most ``idle`` seconds)."""

    def __init__(
        self,
        db: Database,
        sender: OutboxSender,
        now: Callable[[], dt.datetime],
        context: Any,
        handlers: Mapping[str, TimerHandler],
        startup: Sequence[StartupHook] = (),
        idle: float = 1.0,
        finish: uow_mod.FinishHook | None = None,
    ) -> None:
        self.db = db
        self.finish = finish  # runs at the end of each fired timer's transaction (uow.finish_safely)
        self.handlers = dict(handlers)
        self.startup_hooks = tuple(startup)
        self.sender = sender
        self.now = now
        self.context = context
        self.idle = idle
        self.wake = asyncio.Event()
        self.fired = 0
        self.lateness: list[float] = []
        self._task: asyncio.Task[None] | None = None
        self._sending: dict[asyncio.Task[None], list[OutboxMessage]] = {}
        self._last_for_chat: dict[int, asyncio.Task[None]] = {}
        self._send_slots = asyncio.Semaphore(SEND_CONCURRENCY)
        self._firing = asyncio.Lock()  # one fire at a time per instance: ``fired`` counts finished ones

    async def fire_one(self, *, wait_send: bool = True) -> bool:
        """Claim and run one due timer; False when none is due.

        With ``wait_send`` the timer's messages are delivered before returning; without it they
        are handed to a background delivery task (or to the outbox loop) and the call returns at
        once after the commit. A call made while the loop is firing waits for that fire to end.
        """
        async with self._firing:
            return await self._fire_one(wait_send)

    async def _fire_one(self, wait_send: bool) -> bool:
        async with self.db.write() as session:
            now = self.now()
            timer = await session.scalar(
                select(Timer)
                .where(Timer.status == "pending", Timer.due_at <= now)
                .order_by(Timer.due_at, Timer.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if timer is None:
                return False
            uow = uow_mod.UnitOfWork(session=session, now=now, claim_as=self.sender.instance)
            timer.status, timer.fired_at = "done", now
            handler = self.handlers.get(timer.kind)
            if handler is None:  # e.g. a newer version's timer: keep it, look again later
                log.error("no handler for timer kind %s (%s); retry in a minute", timer.kind, timer.key)
                timer.status, timer.fired_at = "pending", None
                timer.due_at = now + dt.timedelta(seconds=60)
            else:
                token = uow_mod.bind(uow)
                try:
                    async with session.begin_nested():
                        payload = {k: v for k, v in timer.payload.items() if k != "_attempts"}
                        await handler(uow, self.context, payload)
                    await uow_mod.finish_safely(uow, self.finish)
                except Exception:  # retried with backoff; a broken timer must not block others or spin
                    uow.outbox.clear()
                    attempts = int(timer.payload.get("_attempts", 0)) + 1
                    if attempts >= MAX_ATTEMPTS:
                        log.exception("timer %s (%s) failed for good", timer.id, timer.key)
                        timer.status = "failed"
                    else:
                        log.exception("timer %s (%s) failed; retry %d", timer.id, timer.key, attempts)
                        timer.status, timer.fired_at = "pending", None
                        timer.due_at = now + dt.timedelta(seconds=RETRY_BASE * 2 ** (attempts - 1))
                        timer.payload = {**timer.payload, "_attempts": attempts}
                finally:
                    uow_mod.unbind(token)
            self.lateness.append((now - timer.due_at).total_seconds())
            if len(self.lateness) > 10_000:
                del self.lateness[:5_000]
            to_loop = bool(uow.outbox) and not wait_send and len(self._sending) >= SEND_BACKLOG
            if to_loop:  # too much waiting already: commit the rows unclaimed for the sender loop
                for row in uow.outbox:
                    row.claimed_by, row.claimed_until = None, None
        self.fired += 1
        if not uow.outbox:
            return True
        if wait_send:
            await self.sender.send_now(uow.outbox)
        elif to_loop:
            self.sender.wake.set()
        else:
            self._hand_off(list(uow.outbox), now)
        return True

    def _hand_off(self, rows: list[OutboxMessage], committed: dt.datetime) -> None:
        """Deliver ``rows`` in a tracked task, after earlier deliveries to the same chats."""
        chats = {row.chat_id for row in rows}
        before = {t for c in chats if (t := self._last_for_chat.get(c)) is not None and not t.done()}
        task = asyncio.create_task(self._deliver(rows, before, committed), name="timer-send")
        self._sending[task] = rows
        for chat in chats:
            self._last_for_chat[chat] = task
        task.add_done_callback(self._delivered)

    def _delivered(self, task: asyncio.Task[None]) -> None:
        rows = self._sending.pop(task, [])
        for row in rows:
            if self._last_for_chat.get(row.chat_id) is task:
                del self._last_for_chat[row.chat_id]

    async def _deliver(
        self, rows: list[OutboxMessage], before: set[asyncio.Task[None]], committed: dt.datetime
    ) -> None:
        """Send a fired timer's rows; if they waited too long, let the outbox loop have them."""
        if before:
            await asyncio.wait(before)
        async with self._send_slots:
            try:
                if (self.now() - committed).total_seconds() > SEND_MAX_WAIT:  # claim about to lapse
                    await self._release(rows)
                else:
                    await self.sender.send_now(rows)
            except Exception:  # the rows stay in the outbox; the sender loop retries them
                log.exception("sending a fired timer's messages failed")
                self.sender.wake.set()

    async def _release(self, rows: list[OutboxMessage]) -> None:
        """Give this worker's unsent claimed rows back to the outbox sender loop."""
        ids = [row.id for row in rows]
        if ids:
            async with self.db.write() as s:
                await s.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id.in_(ids),
                        OutboxMessage.status == "pending",
                        OutboxMessage.claimed_by == self.sender.instance,
                    )
                    .values(claimed_by=None, claimed_until=None)
                )
        self.sender.wake.set()

    async def next_due(self) -> dt.datetime | None:
        """When the earliest pending timer is due."""
        async with self.db.read() as s:
            return await s.scalar(
                select(Timer.due_at).where(Timer.status == "pending").order_by(Timer.due_at).limit(1)
            )

    async def startup(self) -> None:
        """Run the registered start-up hooks, each in its own transaction."""
        for hook in self.startup_hooks:
            try:
                async with self.db.write() as session:
                    await hook(session, self.context, self.now())
            except Exception:
                log.exception("timer start-up hook %s failed", getattr(hook, "__name__", hook))

    async def run(self) -> None:
        """Fire timers forever."""
        await self.startup()
        while True:
            try:
                while await self.fire_one(wait_send=False):
                    pass
                due = await self.next_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("timer loop error")
                due = None
            wait = self.idle
            if due is not None:
                wait = max(0.0, min(wait, (due - self.now()).total_seconds()))
            self.wake.clear()
            await wait_for_wake(self.wake, wait)

    def start(self) -> None:
        """Start in the background."""
        self._task = start_task(self._task, self.run, "timers")

    async def kill(self) -> None:
        """Stop at once, deliveries in flight included (what a crash does; for tests)."""
        tasks = [t for t in (self._task, *self._sending) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None

    async def stop(self) -> None:
        """Stop the background loop, then let deliveries in flight finish (for a while)."""
        task, self._task = self._task, None
        await cancel_task(task)
        if not self._sending:
            return
        _, late = await asyncio.wait(list(self._sending), timeout=STOP_GRACE)
        unsent = [row for task in late for row in self._sending.get(task, [])]
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
        if unsent:
            with contextlib.suppress(Exception):  # claims lapse on their own anyway
                await self._release(unsent)
