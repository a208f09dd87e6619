"""Sends' outcomes are group-committed: each ``record`` returns once its outcome is committed, and
outcomes arriving while the writer is busy share one write (bot/runtime/outbox.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.runtime.outbox import OutcomeRecorder
from storage.db import Database
from storage.models import OutboxMessage
from tests.harness import fresh_sqlite

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


async def _rows(db: Database, n: int) -> list[OutboxMessage]:
    rows = [
        OutboxMessage(chat_id=100 + i, method="sendMessage", payload={"chat_id": 100 + i, "text": "hi"},
                      next_attempt_at=NOW, created_at=NOW, claimed_by="me")
        for i in range(n)
    ]
    async with db.write() as s:
        s.add_all(rows)
    return rows


def _sent(message_id: int) -> dict[str, object]:
    return {"status": "sent", "sent_at": NOW, "message_id": message_id, "claimed_by": None}


async def _stored(db: Database) -> list[tuple[str, int | None, str | None]]:
    async with db.read() as s:
        result = await s.execute(
            select(OutboxMessage.status, OutboxMessage.message_id, OutboxMessage.claimed_by)
            .order_by(OutboxMessage.id)
        )
        return [tuple(r) for r in result.all()]


async def test_outcomes_are_committed_when_record_returns(db_url: str) -> None:
    db = Database(db_url)
    try:
        rows = await _rows(db, 3)
        recorder = OutcomeRecorder(db)
        for i, row in enumerate(rows):
            await recorder.record(row, _sent(500 + i))
            assert (await _stored(db))[i] == ("sent", 500 + i, None)
        assert recorder.writes == 3  # one at a time: nothing to share
    finally:
        await db.dispose()


async def test_outcomes_waiting_for_the_writer_share_one_write(template_db: Path, tmp_path: Path) -> None:
    db = Database(fresh_sqlite(template_db, tmp_path))
    try:
        rows = await _rows(db, 5)
        recorder = OutcomeRecorder(db)
        held, release = asyncio.Event(), asyncio.Event()

        async def busy_writer() -> None:  # a handler's transaction holding SQLite's one writer
            async with db.write():
                held.set()
                await release.wait()

        busy = asyncio.create_task(busy_writer())
        await held.wait()
        records = [asyncio.create_task(recorder.record(r, _sent(600 + i))) for i, r in enumerate(rows)]
        await asyncio.sleep(0.05)
        assert not any(t.done() for t in records)  # none returns before its outcome is committed
        release.set()
        await asyncio.gather(busy, *records)
        assert recorder.writes == 1
        assert await _stored(db) == [("sent", 600 + i, None) for i in range(5)]
    finally:
        await db.dispose()


async def test_a_failed_write_fails_its_records_and_the_next_write_works(
    template_db: Path, tmp_path: Path
) -> None:
    db = Database(fresh_sqlite(template_db, tmp_path))
    try:
        rows = await _rows(db, 2)
        recorder = OutcomeRecorder(db)
        with pytest.raises(Exception, match="no_such_column"):
            await recorder.record(rows[0], {"no_such_column": 1})
        await recorder.record(rows[1], _sent(700))
        assert await _stored(db) == [("pending", None, "me"), ("sent", 700, None)]
    finally:
        await db.dispose()
