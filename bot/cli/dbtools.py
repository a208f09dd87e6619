"""Database operations: online backup and restore, and copying SQLite → PostgreSQL.

* SQLite backups use the sqlite3 online-backup API: a consistent copy while the bot runs.
* PostgreSQL backups use ``pg_dump --format=custom`` / ``pg_restore --clean`` (the Debian
  ``postgresql-client`` tools); the password goes through ``PGPASSWORD``, never the command line.
* ``prune`` deletes processed inbox rows, sent outbox rows and finished timers past a retention.
* ``copy_database`` migrates the target, refuses a target that already holds data, copies every
  table in foreign-key order and moves PostgreSQL's id sequences past the copied rows.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from storage.migrate import upgrade_async
from storage.models import Base

BATCH = 500


class OpsError(Exception):
    """An operation could not be done; the message says why, in one line."""


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise OpsError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def _libpq(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection options for the pg tools, and the environment carrying the password."""
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise OpsError(f"{cmd[0]} not found: install the postgresql-client package") from None
    if done.returncode != 0:
        raise OpsError(f"{cmd[0]} failed: {done.stderr.strip().splitlines()[-1:]}")


def backup(database_url: str, target: Path) -> Path:
    """Write a consistent backup of the database to ``target`` (safe while the bot runs)."""
    url = make_url(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        source = _sqlite_path(url)
        if not source.is_file():
            raise OpsError(f"database file not found: {source}")
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        return target
    args, env = _libpq(url)
    _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), *args,
          "--dbname", str(url.database)], env)
    return target


def restore(database_url: str, source: Path) -> None:
    """Replace the database's contents with a backup (stop the bot first)."""
    if not source.is_file():
        raise OpsError(f"backup file not found: {source}")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        return
    args, env = _libpq(url)
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", *args,
          "--dbname", str(url.database), str(source)], env)


async def _has_data(conn: AsyncConnection) -> str | None:
    for table in Base.metadata.sorted_tables:
        if await conn.scalar(select(func.count()).select_from(table)):
            return table.name
    return None


async def _reset_sequences(conn: AsyncConnection) -> None:
    """Move each serial id sequence past the copied ids (PostgreSQL)."""
    for table in Base.metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or pk[0].autoincrement is False:
            continue
        col = pk[0].name
        seq = await conn.scalar(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                {"t": table.name, "c": col})
        if seq:
            await conn.execute(text(
                f'SELECT setval(:s, COALESCE((SELECT MAX("{col}") FROM "{table.name}"), 0) + 1, false)'
            ), {"s": seq})


async def copy_database(source_url: str, target_url: str) -> dict[str, int]:
    """Copy every table from ``source_url`` into an empty ``target_url``; rows per table."""
    if make_url(source_url) == make_url(target_url):
        raise OpsError("source and target are the same database")
    await upgrade_async(target_url)
    src = create_async_engine(source_url)
    dst = create_async_engine(target_url)
    counts: dict[str, int] = {}
    try:
        async with src.connect() as sconn, dst.begin() as dconn:
            busy = await _has_data(dconn)
            if busy:
                raise OpsError(f"target database is not empty (table {busy} has rows)")
            for table in Base.metadata.sorted_tables:
                result = await sconn.stream(select(table))
                copied = 0
                async for chunk in result.mappings().partitions(BATCH):
                    rows: list[dict[str, Any]] = [dict(r) for r in chunk]
                    await dconn.execute(table.insert(), rows)
                    copied += len(rows)
                counts[table.name] = copied
            if dst.dialect.name == "postgresql":
                await _reset_sequences(dconn)
    finally:
        await src.dispose()
        await dst.dispose()
    return counts


async def prune(database_url: str, now: dt.datetime, days: int) -> dict[str, int]:
    """Delete processed inbox rows, sent outbox rows and finished timers older than ``days``."""
    from storage.db import Database, rowcount
    from storage.models import InboxUpdate, OutboxMessage, Timer

    cutoff = now - dt.timedelta(days=days)
    db = Database(database_url)
    try:
        async with db.write() as s:
            inbox = await s.execute(delete(InboxUpdate).where(
                InboxUpdate.status != "pending", InboxUpdate.received_at < cutoff))
            outbox = await s.execute(delete(OutboxMessage).where(
                OutboxMessage.status == "sent", OutboxMessage.created_at < cutoff))
            timers = await s.execute(delete(Timer).where(
                Timer.status != "pending", Timer.due_at < cutoff))
    finally:
        await db.dispose()
    return {"inbox": rowcount(inbox), "outbox": rowcount(outbox), "timers": rowcount(timers)}
