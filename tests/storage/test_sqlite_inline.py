"""The writer's SQLite connections run on the loop's thread and wait for another process's lock
asleep, never blocking the loop (storage/sqlite_inline.py)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage import sqlite_inline
from storage.db import Database


async def _table(db: Database) -> None:
    async with db.write() as s:
        await s.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))


async def test_writer_statements_run_inline_and_commit(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    try:
        await _table(db)
        async with db.engine.connect() as conn:  # the writer's driver is the inline one
            raw = await conn.get_raw_connection()
            assert isinstance(raw.driver_connection, sqlite_inline.InlineConnection)
        assert db.checkpointer is not None
        db.checkpointer.interval = float("inf")  # its WAL checkpoints have a thread (test_wal_checkpoint)
        threads = threading.active_count()
        async with db.write() as s:
            await s.execute(text("INSERT INTO t (v) VALUES ('a'), ('b')"))
            changed = await s.execute(text("UPDATE t SET v = 'c' WHERE id = 1"))
            assert changed.rowcount == 1  # type: ignore[attr-defined]
        assert threading.active_count() == threads  # no worker thread started for it
        async with db.write() as s:
            with pytest.raises(IntegrityError):  # the driver's errors, wrapped as with aiosqlite
                await s.execute(text("INSERT INTO t (id, v) VALUES (1, 'dup')"))
        async with db.read() as s:  # the reader (aiosqlite) sees what the writer committed
            assert (await s.execute(text("SELECT id, v FROM t ORDER BY id"))).all() == [(1, "c"), (2, "b")]
    finally:
        await db.dispose()


async def test_a_lock_held_elsewhere_is_waited_for_without_blocking_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        await _table(db)
        other.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
        ticks = 0
        released = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not released.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        async def release() -> None:
            await asyncio.sleep(0.3)
            other.execute("INSERT INTO t (v) VALUES ('other')")
            other.execute("COMMIT")
            released.set()

        tasks = [asyncio.create_task(ticker()), asyncio.create_task(release())]
        async with db.write() as s:
            await s.execute(text("INSERT INTO t (v) VALUES ('ours')"))
        assert released.is_set()  # our transaction began only after the other one committed
        await asyncio.gather(*tasks)
        assert ticks >= 10  # the loop kept running while we waited
        async with db.read() as s:
            assert (await s.scalars(text("SELECT v FROM t ORDER BY id"))).all() == ["other", "ours"]
    finally:
        other.close()
        await db.dispose()


async def test_a_lock_held_past_the_busy_timeout_fails(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    sqlite3.connect(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    conn = await sqlite_inline.connector((str(path),), {"isolation_level": None}, 0.1)()
    try:
        loop = asyncio.get_running_loop()
        began = loop.time()
        cur = conn.cursor()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await cur.execute("BEGIN IMMEDIATE")
        assert 0.1 <= loop.time() - began < 1.0
    finally:
        await conn.close()
        other.close()
