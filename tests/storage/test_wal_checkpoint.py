"""The inline writer's WAL is checkpointed by a worker thread, not by commits on the event loop
(storage/db.py, ``WalCheckpointer``)."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import WRITER_AUTOCHECKPOINT_PAGES, Database, WalCheckpointer


async def _writes(db: Database, n: int) -> None:
    for i in range(n):
        async with db.write() as s:
            await s.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": f"row {i} " + "x" * 500})


async def _database(path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{path}")
    async with db.write() as s:
        await s.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    return db


async def test_the_thread_checkpoints_what_the_writer_committed(tmp_path: Path) -> None:
    db = await _database(tmp_path / "c.db")
    try:
        checkpointer = db.checkpointer
        assert isinstance(checkpointer, WalCheckpointer)
        async with db.write() as s:  # the writer's own autocheckpoint is only the fallback
            pages = (await s.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
        assert pages == WRITER_AUTOCHECKPOINT_PAGES
        checkpointer.interval = 0.0
        await _writes(db, 40)
        await checkpointer.close()  # waits for the one under way
        checkpointer.after_commit()  # and one more after the last write
        await checkpointer.close()
        assert checkpointer.checkpoints >= 2
        assert checkpointer.last is not None
        busy, frames, done = checkpointer.last
        assert busy == 0 and frames > 0 and done == frames  # nothing left in the WAL to copy
        async with db.read() as s:  # and every row is there
            assert (await s.execute(text("SELECT count(*) FROM t"))).scalar_one() == 40
    finally:
        await db.dispose()


async def test_checkpoints_run_on_a_worker_thread_at_most_once_per_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []
    checkpoint = WalCheckpointer._checkpoint

    def recorded(self: WalCheckpointer) -> tuple[int, int, int]:
        threads.append(threading.get_ident())
        return checkpoint(self)

    monkeypatch.setattr(WalCheckpointer, "_checkpoint", recorded)
    db = await _database(tmp_path / "t.db")
    try:
        assert db.checkpointer is not None
        db.checkpointer.interval = 3600.0
        await _writes(db, 20)
        await db.checkpointer.close()
        assert threads == []  # not due yet: the first write only started the interval
        db.checkpointer.interval = 0.0
        await _writes(db, 1)
        await db.checkpointer.close()
        assert len(threads) == 1 and threads[0] != threading.get_ident()
    finally:
        await db.dispose()


async def test_a_failing_checkpoint_is_logged_and_writing_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: WalCheckpointer) -> tuple[int, int, int]:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(WalCheckpointer, "_checkpoint", broken)
    db = await _database(tmp_path / "f.db")
    try:
        assert db.checkpointer is not None
        db.checkpointer.interval = 0.0
        with caplog.at_level(logging.WARNING, logger="storage.db"):
            await _writes(db, 3)
            await db.checkpointer.close()
        assert "WAL checkpoint failed: OperationalError" in caplog.text
        assert db.checkpointer.checkpoints == 0
        await _writes(db, 2)
        async with db.read() as s:
            assert (await s.execute(text("SELECT count(*) FROM t"))).scalar_one() == 5
    finally:
        await db.dispose()


def test_only_the_inline_writer_has_a_checkpointer() -> None:
    assert Database("sqlite+aiosqlite:///:memory:").checkpointer is None
