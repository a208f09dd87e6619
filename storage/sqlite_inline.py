"""SQLite on the event loop's own thread: an aiosqlite-shaped connection without a worker thread.

aiosqlite runs every call of a connection (make a cursor, execute, fetch, close it, commit) in
a thread of its own and hands each result back to the event loop — four thread hand-offs for
one SELECT, a queue, a wake-up of the loop's self-pipe and a GIL hand-over each. SQLite's own
work for this bot's small statements takes microseconds (WAL, ``synchronous=NORMAL``), so the
hand-offs cost more CPU than the statements (issue 19). Here the calls run inline instead.

A lock held by another process is never waited for on the loop: the connection is opened with
``timeout=0``, and a statement answered ``SQLITE_BUSY`` (nothing was done) is tried again after
a short ``asyncio.sleep`` until ``busy_timeout`` seconds have passed — the loop keeps serving
meanwhile, as it did while aiosqlite's thread sat in SQLite's busy handler.

Used for the writer engine (``storage.db.Database``): its transactions are short and already
serialised in-process. The reader engine keeps aiosqlite, so a long read (a report, an export)
does not hold up the loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

T = TypeVar("T")

BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, 261})  # SQLITE_BUSY, SQLITE_BUSY_RECOVERY
FIRST_RETRY = 0.001  # seconds; doubled after each busy answer up to MAX_RETRY
MAX_RETRY = 0.05


def _busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in BUSY_CODES


async def _patiently(fn: Callable[[], T], busy_timeout: float) -> T:
    """``fn()``, tried again while SQLite answers busy (another process holds the lock)."""
    loop = asyncio.get_running_loop()
    deadline: float | None = None
    pause = FIRST_RETRY
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            now = loop.time()
            if deadline is None:
                deadline = now + busy_timeout
            if now >= deadline:
                raise
            await asyncio.sleep(pause)
            pause = min(MAX_RETRY, pause * 2)


class InlineCursor:
    """The part of ``aiosqlite.Cursor`` SQLAlchemy's adapter uses, run inline."""

    def __init__(self, conn: InlineConnection, cursor: sqlite3.Cursor) -> None:
        self._conn = conn
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        await _patiently(lambda: self._cursor.execute(sql, parameters), self._conn.busy_timeout)
        return self

    async def executemany(self, sql: str, parameters: Any) -> InlineCursor:
        await _patiently(lambda: self._cursor.executemany(sql, parameters), self._conn.busy_timeout)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def setinputsizes(self, *sizes: Any) -> None:
        """Nothing to do for SQLite."""

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _InlineQueue:
    """Stands in for aiosqlite's call queue, which SQLAlchemy's ``isolation_level`` setter uses."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # handed to the awaiting caller, as aiosqlite's thread does
            future.set_exception(exc)


class InlineConnection:
    """The part of ``aiosqlite.Connection`` SQLAlchemy's adapter uses, run inline."""

    def __init__(self, conn: sqlite3.Connection, busy_timeout: float) -> None:
        self._connection: sqlite3.Connection | None = conn
        self.busy_timeout = busy_timeout
        self._tx = _InlineQueue()

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    def cursor(self) -> InlineCursor:
        return InlineCursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        await _patiently(self._conn.commit, self.busy_timeout)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            conn, self._connection = self._connection, None
            conn.close()

    def stop(self) -> None:
        """Close without waiting (SQLAlchemy's terminate)."""
        if self._connection is not None:
            conn, self._connection = self._connection, None
            conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Literal["DEFERRED", "EXCLUSIVE", "IMMEDIATE"] | None) -> None:
        self._conn.isolation_level = value


def connector(args: Sequence[Any], kwargs: Mapping[str, Any], busy_timeout: float) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine``: opens ``sqlite3.connect(*args, **kwargs)``
    (the dialect's own connect arguments for the URL) inline, without SQLite's busy wait."""

    async def connect() -> InlineConnection:
        params = {**kwargs, "timeout": 0, "check_same_thread": False}
        conn = await _patiently(lambda: sqlite3.connect(*args, **params), busy_timeout)
        return InlineConnection(conn, busy_timeout)

    return connect
