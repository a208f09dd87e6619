"""The database handle: engines, write/read sessions and SQLite tuning (WAL, BEGIN IMMEDIATE)."""

from __future__ import annotations

import asyncio
import logging
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


def _tune_sqlite(engine: AsyncEngine, begin: str, busy_ms: int = BUSY_TIMEOUT_MS) -> None:
    """WAL, busy timeout and an explicit BEGIN (IMMEDIATE for writers) on every connection."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)


def _inline_engine(url: str, kwargs: dict[str, Any]) -> AsyncEngine:
    """An engine over ``storage.sqlite_inline`` connections, opened with the dialect's own
    connect arguments for ``url`` (file name, URI parameters)."""
    parsed = make_url(url)
    dialect = parsed.get_dialect(_is_async=True)()
    args, params = dialect.create_connect_args(parsed)
    creator = sqlite_inline.connector(args, params, BUSY_TIMEOUT_MS / 1000)
    return create_async_engine(url, async_creator=creator, **kwargs)


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
        if self.is_sqlite:
            # inline, a busy lock is waited for by sqlite_inline (asleep), not by SQLite (blocking)
            _tune_sqlite(self.engine, "BEGIN IMMEDIATE", 0 if inline else BUSY_TIMEOUT_MS)
            _tune_sqlite(self.read_engine, "BEGIN")
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False)
        self._reader = async_sessionmaker(self.read_engine, expire_on_commit=False)
        # SQLite allows one writer; queueing here is cheaper than spinning in busy_timeout.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction, committed on success and rolled back on error."""
        if self._write_lock is None:
            async with self._writer() as session, session.begin():
                yield session
            return
        async with self._write_lock, self._writer() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session (its transaction is rolled back at the end)."""
        async with self._reader() as session:
            yield session

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


def rowcount(result: Result[Any] | Result[*tuple[Any, ...]]) -> int:
    """The rows an UPDATE or DELETE matched: its result is a ``CursorResult`` (which has
    ``rowcount``), though ``AsyncSession.execute`` is typed to return a plain ``Result``."""
    return cast("CursorResult[Any]", result).rowcount
