"""The timer worker fires due timers without waiting for their messages to be delivered."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy import func, select

from bot.core import timers
from bot.runtime import timer_worker as timers_mod
from bot.runtime.outbox import OutboxSender
from bot.runtime.timer_worker import TimerWorker
from storage.db import Database
from storage.models import OutboxMessage, Timer

NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
KIND = "handoff-test"


class GatedSender(OutboxSender):
    """Records what it is asked to send; each delivery waits until the gate opens."""

    def __init__(self, db: Database) -> None:
        super().__init__(db, None, lambda: NOW)
        self.gate = asyncio.Event()
        self.sent_texts: list[tuple[int, str]] = []

    async def send_now(self, rows: Sequence[OutboxMessage]) -> None:
        await self.gate.wait()
        for row in rows:
            self.sent_texts.append((row.chat_id, row.payload["text"]))


async def _handler(uow, context, payload):  # type: ignore[no-untyped-def]
    n = int(payload["n"])
    uow.queue(1000 + n % 3, "sendMessage", {"chat_id": 1000 + n % 3, "text": f"t{n}"})


HANDLERS = {KIND: _handler}


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    async with database.write() as s:
        for n in range(20):
            due = NOW - dt.timedelta(seconds=20 - n)  # fired in n order
            timers.schedule(s, KIND, f"{KIND}:{n}", due, {"n": str(n)})
    try:
        yield database
    finally:
        await database.dispose()


async def _wait_fired(worker: TimerWorker, count: int) -> None:
    for _ in range(200):
        if worker.fired >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {worker.fired} of {count} timers fired")


async def _pending_timers(db: Database) -> int:
    async with db.read() as s:
        return int(await s.scalar(select(func.count()).where(Timer.status == "pending")) or 0)


async def test_timers_fire_while_deliveries_wait_and_stop_finishes_them(db: Database) -> None:
    sender = GatedSender(db)
    worker = TimerWorker(db, sender, lambda: NOW, None, HANDLERS)
    worker.start()
    try:
        await _wait_fired(worker, 20)  # every timer fired although no delivery has finished
        assert sender.sent_texts == []
        assert await _pending_timers(db) == 0
        sender.gate.set()
    finally:
        await worker.stop()
    assert not worker._sending  # nothing left running after stop()
    assert sorted(sender.sent_texts) == sorted((1000 + n % 3, f"t{n}") for n in range(20))
    for chat in (1000, 1001, 1002):  # in firing order within each chat
        texts = [int(t[1:]) for c, t in sender.sent_texts if c == chat]
        assert texts == sorted(texts)


async def test_stop_gives_undelivered_rows_back_to_the_outbox_loop(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timers_mod, "STOP_GRACE", 0.2)
    sender = GatedSender(db)  # the gate never opens: deliveries hang
    worker = TimerWorker(db, sender, lambda: NOW, None, HANDLERS)
    worker.start()
    try:
        await _wait_fired(worker, 20)
    finally:
        await worker.stop()
    assert not worker._sending and sender.sent_texts == []
    async with db.read() as s:
        rows = (await s.scalars(select(OutboxMessage))).all()
    assert len(rows) == 20
    assert all(r.status == "pending" and r.claimed_by is None for r in rows)
