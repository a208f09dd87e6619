"""PostgreSQL specifics: migrations, and row claiming with ``FOR UPDATE SKIP LOCKED``.

These run only when TEST_DATABASE_URL is set (CI starts a server); the rest of the suite runs
on PostgreSQL too in that case, through the ``db_url`` fixture.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.core import timers as timers_mod
from bot.runtime.outbox import OutboxSender
from bot.runtime.timer_worker import TimerWorker
from storage.db import Database
from storage.migrate import current_revision, head_revision
from storage.models import OutboxMessage, Timer

pytestmark = pytest.mark.postgres

NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


async def test_database_is_postgres_and_migrated(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert not db.is_sqlite and db.engine.dialect.name == "postgresql"
        assert await current_revision(db_url) == head_revision(db_url)
    finally:
        await db.dispose()


async def _add_outbox(db: Database, chats: int, per_chat: int) -> None:
    async with db.write() as s:
        for n in range(per_chat):
            for chat in range(chats):
                s.add(
                    OutboxMessage(
                        chat_id=1000 + chat, method="sendMessage",
                        payload={"chat_id": 1000 + chat, "text": f"m{n}"}, priority=5,
                        status="pending", attempts=0, next_attempt_at=NOW, created_at=NOW,
                    )
                )


async def test_concurrent_outbox_claims_never_overlap(db_url: str) -> None:
    """Two senders (two instances) claiming at once get disjoint rows, one per chat."""
    db1, db2 = Database(db_url), Database(db_url)
    try:
        await _add_outbox(db1, chats=40, per_chat=2)
        s1, s2 = OutboxSender(db1, None, lambda: NOW), OutboxSender(db2, None, lambda: NOW)
        a, b = await asyncio.gather(s1.claim(limit=100), s2.claim(limit=100))
        ids_a, ids_b = {r.id for r in a}, {r.id for r in b}
        assert not ids_a & ids_b
        claimed = [*a, *b]
        assert len(claimed) == 40  # the earliest row of each chat, nothing later
        assert len({r.chat_id for r in claimed}) == 40
        async with db1.read() as s:
            owners = (
                await s.execute(
                    select(OutboxMessage.claimed_by, func.count())
                    .where(OutboxMessage.claimed_by.is_not(None))
                    .group_by(OutboxMessage.claimed_by)
                )
            ).all()
        assert sum(n for _, n in owners) == 40
        assert {o for o, _ in owners} <= {s1.instance, s2.instance}
    finally:
        await db1.dispose()
        await db2.dispose()


async def test_timer_fires_once_across_two_workers(db_url: str) -> None:
    """Many due timers, two workers racing: each timer's handler runs exactly once."""
    fired: list[str] = []

    async def handler(uow, context, payload) -> None:  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.001)
        fired.append(payload["n"])

    db1, db2 = Database(db_url), Database(db_url)
    try:
        async with db1.write() as s:
            for n in range(60):
                timers_mod.schedule(s, "pg-test", f"pg-test:{n}", NOW, {"n": str(n)})
        w1 = TimerWorker(db1, OutboxSender(db1, None, lambda: NOW), lambda: NOW, None, {"pg-test": handler})
        w2 = TimerWorker(db2, OutboxSender(db2, None, lambda: NOW), lambda: NOW, None, {"pg-test": handler})

        async def drain(w: TimerWorker) -> None:
            while await w.fire_one():
                pass

        await asyncio.gather(drain(w1), drain(w2))
        assert sorted(fired, key=int) == [str(n) for n in range(60)]
        assert w1.fired + w2.fired == 60 and w1.fired > 0 and w2.fired > 0
        async with db1.read() as s:
            left = await s.scalar(select(func.count()).where(Timer.status == "pending"))
        assert left == 0
    finally:
        await db1.dispose()
        await db2.dispose()


async def test_concurrent_ticket_numbers_are_distinct(db_url: str) -> None:
    """Transactions numbering tickets at once (first of a year included) never collide."""
    from bot.tickets.lifecycle import next_number

    dbs = [Database(db_url) for _ in range(4)]
    try:
        async def one(db: Database) -> str:
            async with db.write() as s:
                number = await next_number(s, 2031)
                await asyncio.sleep(0.01)  # keep the transaction open while others try
                return number

        numbers = await asyncio.gather(*(one(dbs[i % 4]) for i in range(12)))
        assert sorted(numbers) == [f"SD-2031-{n:06d}" for n in range(1, 13)]
    finally:
        for db in dbs:
            await db.dispose()
