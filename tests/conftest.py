"""Fixtures: a sandbox per test, a fresh migrated database, the real bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.core.clock import Clock
from bot.sandbox import SandboxServer
from tests.harness import (
    Harness,
    fresh_sqlite,
    migrated_template,
    postgres_url,
    seeded,
    test_clock,
)
from tests.pgdb import PgTemplate


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server (TEST_DATABASE_URL)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgres`` need TEST_DATABASE_URL: deselected (not skipped) without it."""
    if postgres_url():
        return
    keep = [i for i in items if i.get_closest_marker("postgres") is None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


@pytest.fixture(scope="session")
def pg_template() -> Iterator[PgTemplate | None]:
    """The migrated PostgreSQL template database, when TEST_DATABASE_URL is set."""
    url = postgres_url()
    if not url:
        yield None
        return
    template = PgTemplate(url)
    asyncio.run(template.create())
    yield template
    asyncio.run(template.destroy())


@pytest.fixture
async def db_url(
    pg_template: PgTemplate | None, template_db: Path, tmp_path: Path
) -> AsyncIterator[str]:
    """A fresh migrated database for this test: PostgreSQL when configured, else SQLite."""
    if pg_template is None:
        yield fresh_sqlite(template_db, tmp_path)
        return
    url = await pg_template.fresh()
    yield url
    await pg_template.drop(url)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def desk_clock() -> Clock:
    """The test's clock, shared by the sandbox, the bot and every process the test starts."""
    return test_clock()


@pytest.fixture
async def sandbox(desk_clock: Clock) -> AsyncIterator[SandboxServer]:
    server = SandboxServer(port=0, clock=lambda: desk_clock.now().timestamp())
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def harness(sandbox: SandboxServer, db_url: str, desk_clock: Clock) -> AsyncIterator[Harness]:
    h = Harness(sandbox, db_url, desk_clock)
    await seeded(h)
    yield h
    await h.close()


@pytest.fixture
async def bot(harness: Harness) -> AsyncIterator[Harness]:
    """The harness with the bot running."""
    await harness.start()
    yield harness
