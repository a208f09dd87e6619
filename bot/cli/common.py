"""What every ``sdbot`` command shares: the settings (or one line on stderr and exit code 2) and
running one piece of async work on the configured database."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from bot.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:  # the database modules load only for the commands that use them
    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.db import Database

T = TypeVar("T")


def settings_or_exit() -> Settings:
    """The settings from the environment; a bad value stops the command with exit code 2."""
    try:
        return load_settings()
    except ConfigError as exc:
        print(f"sdbot: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def on_database(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work(db)`` on a fresh handle to the database at ``url``, disposed of afterwards."""
    from storage.db import Database

    async def go() -> T:
        db = Database(url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


def in_session(url: str, work: Callable[[AsyncSession], Awaitable[T]], *, write: bool) -> T:
    """Run ``work(session)`` in one write (or read-only) transaction on the database at ``url``."""

    async def go(db: Database) -> T:
        async with db.write() if write else db.read() as session:
            return await work(session)

    return on_database(url, go)


def in_migrated_db(work: Callable[[AsyncSession, dt.datetime], Awaitable[T]]) -> T:
    """Run ``work(session, now)`` in one write transaction on the configured database, migrated
    to the newest schema first; ``now`` is the desk's clock in UTC."""
    from storage.migrate import upgrade

    settings = settings_or_exit()
    upgrade(settings.database_url)

    async def go(session: AsyncSession) -> T:
        return await work(session, settings.clock().now().astimezone(dt.UTC))

    return in_session(settings.database_url, go, write=True)
