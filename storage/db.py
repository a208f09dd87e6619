"""The database handle: engines, write/read sessions and SQLite tuning (WAL, BEGIN IMMEDIATE)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.engine import CursorResult, Result, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import sqlite_inline

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
#: The inline writer's own WAL autocheckpoint (pages): only a fallback, should ``WalCheckpointer``
#: fall behind; SQLite's default is 1,000.
WRITER_AUTOCHECKPOINT_PAGES = 10_000
CHECKPOINT_INTERVAL = 1.0  # seconds: at most one WAL checkpoint per interval, after a write


def _tune_sqlite(
    engine: AsyncEngine, begin: str, busy_ms: int = BUSY_TIMEOUT_MS, autocheckpoint: int | None = None
) -> None:
    """WAL, busy timeout and an explicit BEGIN (IMMEDIATE for writers) on every connection;
    ``autocheckpoint``: the connection's ``wal_autocheckpoint`` (SQLite's default if None)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        if autocheckpoint is not None:
            cur.execute(f"PRAGMA wal_autocheckpoint={autocheckpoint}")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)


def _connect_args(url: str) -> tuple[list[Any], dict[str, Any]]:
    """``sqlite3.connect``'s arguments for ``url`` (file name, URI parameters), by the dialect."""
    parsed = make_url(url)
    dialect = parsed.get_dialect(_is_async=True)()
    args, params = dialect.create_connect_args(parsed)
    return list(args), dict(params)


def _inline_engine(url: str, kwargs: dict[str, Any]) -> AsyncEngine:
    """An engine over ``storage.sqlite_inline`` connections, opened with the dialect's own
    connect arguments for ``url``."""
    args, params = _connect_args(url)
    creator = sqlite_inline.connector(args, params, BUSY_TIMEOUT_MS / 1000)
    return create_async_engine(url, async_creator=creator, **kwargs)


class WalCheckpointer:
    """Checkpoints an SQLite WAL from a worker thread, so that no commit on the loop has to.

    SQLite checkpoints in the commit that takes the WAL past ``wal_autocheckpoint`` pages, and
    with ``synchronous=NORMAL`` that commit also syncs the WAL and the database file to disk. The
    inline writer (``storage.sqlite_inline``) commits on the event loop's thread, so the loop stood
    still for it: 18 commits of 3,200 took over 5 ms (up to 37 ms) in a run at 40 updates/s, the
    median one 0.07 ms (docs/benchmarks.md, round 10). Here, after a write, at most once per
    ``interval`` seconds, a ``PASSIVE`` checkpoint runs on a connection of its own in a thread
    (SQLite releases the GIL meanwhile): it waits for no lock and never holds up the writer or
    the readers, and what it leaves (a reader still on older pages) the next one takes.
    """

    def __init__(self, url: str, interval: float = CHECKPOINT_INTERVAL) -> None:
        self._args, params = _connect_args(url)
        self._params = {**params, "timeout": 0, "check_same_thread": False}
        self.interval = interval
        self._conn: sqlite3.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_at: float | None = None  # loop time of the last checkpoint (or the first write)
        self.checkpoints = 0
        #: ``PRAGMA wal_checkpoint``'s answer the last time: (busy, WAL frames, frames checkpointed)
        self.last: tuple[int, int, int] | None = None

    def after_commit(self) -> None:
        """Called on the loop after each write: starts a checkpoint when ``interval`` seconds have
        passed since the last one (or since the first write) and none is under way."""
        loop = asyncio.get_running_loop()
        task = self._task
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        now = loop.time()
        if self._last_at is None:
            self._last_at = now
            return
        if now - self._last_at < self.interval:
            return
        self._last_at = now
        self._task = loop.create_task(self._run(), name="wal-checkpoint")

    async def _run(self) -> None:
        try:
            self.last = await asyncio.to_thread(self._checkpoint)
            self.checkpoints += 1
        except sqlite3.Error as exc:  # the writer's own autocheckpoint is the fallback
            log.warning("WAL checkpoint failed: %s", type(exc).__name__)

    def _checkpoint(self) -> tuple[int, int, int]:
        if self._conn is None:
            self._conn = sqlite3.connect(*self._args, **self._params)
        busy, frames, done = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy), int(frames), int(done)

    async def close(self) -> None:
        """Wait for a checkpoint under way, then close the connection."""
        task, self._task = self._task, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            await task
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()


#: ``Database.write(priority=...)``: storing received updates goes before the rest, since every
#: later update waits for it (the next ``getUpdates`` is only asked once the batch is stored).
URGENT, NORMAL = 0, 5


class PriorityLock:
    """A lock whose waiters get it lowest ``priority`` first, in arrival order within one.

    asyncio's ``Lock`` is FIFO only. Hand-written because it is a dozen lines: ``release`` hands
    the lock straight to the next waiter (it stays locked), so nobody can barge in between.
    """

    def __init__(self) -> None:
        self._locked = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    async def acquire(self, priority: int = NORMAL) -> None:
        """Wait for the lock."""
        if not self._locked:
            self._locked = True
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._arrivals), turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed the lock, then cancelled: pass it on
                self.release()
            raise

    def release(self) -> None:
        """Hand the lock to the first waiter still waiting, else unlock."""
        while self._waiters:
            turn = heapq.heappop(self._waiters)[2]
            if not turn.done():
                turn.set_result(None)
                return
        self._locked = False

    @asynccontextmanager
    async def held(self, priority: int = NORMAL) -> AsyncIterator[None]:
        """``async with lock.held(priority):`` the lock for the block."""
        await self.acquire(priority)
        try:
            yield
        finally:
            self.release()


class Database:
    """Owns the engines. ``write()`` serialises writers on SQLite; ``read()`` never blocks them."""

    def __init__(self, url: str, *, echo: bool = False, log_params: bool = False) -> None:
        """``echo`` logs SQL; its parameters (personal data) only with ``log_params`` too."""
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": not log_params}
        if not self.is_sqlite:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        inline = self.is_sqlite and parsed.database not in (None, "", ":memory:")
        if inline:  # the writer's statements run on the loop's thread (storage/sqlite_inline.py)
            self.engine = _inline_engine(url, kwargs)
        else:
            self.engine = create_async_engine(url, **kwargs)
        self.read_engine = create_async_engine(url, **kwargs) if self.is_sqlite else self.engine
        #: inline, the WAL is checkpointed off the loop (``WalCheckpointer``), not by commits on it
        self.checkpointer = WalCheckpointer(url) if inline else None
        if self.is_sqlite:
            # inline, a busy lock is waited for by sqlite_inline (asleep), not by SQLite (blocking)
            _tune_sqlite(
                self.engine, "BEGIN IMMEDIATE", 0 if inline else BUSY_TIMEOUT_MS,
                WRITER_AUTOCHECKPOINT_PAGES if inline else None,
            )
            _tune_sqlite(self.read_engine, "BEGIN")
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False)
        self._reader = async_sessionmaker(self.read_engine, expire_on_commit=False)
        # SQLite allows one writer; queueing here is cheaper than spinning in busy_timeout.
        self._write_lock = PriorityLock() if self.is_sqlite else None

    @asynccontextmanager
    async def write(self, priority: int = NORMAL) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction, committed on success and rolled back on error.

        On SQLite writers queue for the one write lock, ``priority`` (``URGENT`` first) then
        arrival order; PostgreSQL runs them side by side and ignores it."""
        if self._write_lock is None:
            async with self._writer() as session, session.begin():
                yield session
            return
        async with self._write_lock.held(priority), self._writer() as session, session.begin():
            yield session
        if self.checkpointer is not None:  # committed
            self.checkpointer.after_commit()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session (its transaction is rolled back at the end)."""
        async with self._reader() as session:
            yield session

    async def dispose(self) -> None:
        """Close every pooled connection (a WAL checkpoint under way finishes first)."""
        if self.checkpointer is not None:
            await self.checkpointer.close()
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


def rowcount(result: Result[Any] | Result[*tuple[Any, ...]]) -> int:
    """The rows an UPDATE or DELETE matched: its result is a ``CursorResult`` (which has
    ``rowcount``), though ``AsyncSession.execute`` is typed to return a plain ``Result``."""
    return cast("CursorResult[Any]", result).rowcount
