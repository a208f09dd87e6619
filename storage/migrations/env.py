"""Alembic environment: runs migrations through the async engine for any URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.models import Base

config = context.config
target_metadata = Base.metadata


def _run(sync_conn) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=sync_conn,
        target_metadata=target_metadata,
        render_as_batch=sync_conn.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


# Held for the migration's transaction on PostgreSQL, so two instances starting together migrate
# one after the other (the second then finds nothing to do). SQLite's write lock does the same.
MIGRATION_LOCK = 0x5D_B0_7A_1E


async def _run_async() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None, "alembic.ini or the caller sets sqlalchemy.url"
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await conn.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
