"""PostgreSQL for tests: one migrated template database per session, a fresh copy per test.

Used when ``TEST_DATABASE_URL`` (``postgresql+asyncpg://USER:PASS@HOST:PORT/DB``) is set; the
role needs CREATEDB. Copies are made with ``CREATE DATABASE … TEMPLATE …`` (milliseconds) and
dropped after the test.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid

import asyncpg
from sqlalchemy.engine import make_url

_counter = itertools.count(1)


def admin_dsn(url: str) -> str:
    """The asyncpg DSN of ``url`` (the SQLAlchemy driver suffix removed)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, name: str) -> str:
    """``url`` pointing at another database on the same server."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


class PgTemplate:
    """A migrated template database and the per-test copies made from it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"sdt_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.template = f"{self.prefix}_tpl"

    async def _admin(self, sql: str, *, attempts: int = 20) -> None:
        """Run one CREATE/DROP DATABASE, retrying while e.g. autovacuum holds the database."""
        for attempt in range(attempts):
            conn = await asyncpg.connect(admin_dsn(self.url))
            try:
                await conn.execute(sql)
                return
            except (asyncpg.ObjectInUseError, asyncpg.InsufficientPrivilegeError):
                if attempt == attempts - 1:
                    raise
            finally:
                await conn.close()
            await asyncio.sleep(0.1 * (attempt + 1))

    async def create(self) -> None:
        """Create and migrate the template (once per session)."""
        from storage.migrate import upgrade_async

        await self._admin(f'CREATE DATABASE "{self.template}"')
        await upgrade_async(with_database(self.url, self.template))
        # nobody (not even autovacuum) connects to the template, so copying it never waits
        await self._admin(f'ALTER DATABASE "{self.template}" WITH ALLOW_CONNECTIONS false')

    async def fresh(self) -> str:
        """A new database copied from the template; returns its URL."""
        name = f"{self.prefix}_{next(_counter)}"
        await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return with_database(self.url, name)

    async def drop(self, url: str) -> None:
        """Drop a copy made by ``fresh`` (closing whatever still connects to it)."""
        await self._admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    async def destroy(self) -> None:
        """Drop the template at the end of the session."""
        await self._admin(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
