"""Alembic, driven from code: ``upgrade(url)`` brings any database to the newest schema.

Alembic (with Mako) costs about 8 MB of resident memory once imported, so it is imported only when
a migration actually runs: ``upgrade_async`` first reads the database's revision with one plain
query and compares it with ``HEAD_REVISION``, the newest file in ``migrations/versions/`` (revision
ids are the files' number prefixes; ``tests/storage/test_migrations.py`` holds Alembic to that).
A bot restarting on an up-to-date database never loads Alembic.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
HEAD_REVISION = max(p.name.split("_", 1)[0] for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py"))
VERSION_TABLE = "alembic_version"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations and the given database URL."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Run migrations up to ``revision`` (blocking; call from a thread inside an event loop)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str) -> bool:
    """Bring the database to ``HEAD_REVISION`` without blocking the event loop; False when it was
    there already (Alembic not even imported)."""
    if await current_revision(url) == HEAD_REVISION:
        return False
    await asyncio.to_thread(upgrade, url)
    return True


def head_revision(url: str) -> str | None:
    """The newest revision shipped with the code, as Alembic's script directory reads it."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


async def current_revision(url: str) -> str | None:
    """The revision the database is at (None for an empty database)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            if not await conn.run_sync(lambda sync: inspect(sync).has_table(VERSION_TABLE)):
                return None
            return (await conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))).scalar()
    finally:
        await engine.dispose()
