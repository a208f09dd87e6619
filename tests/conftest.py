"""Fixtures: a sandbox per test, a fresh migrated database, the real bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.sandbox import SandboxServer
from tests.harness import Harness, fresh_sqlite, migrated_template, seeded, test_clock


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    server = SandboxServer(port=0)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def harness(sandbox: SandboxServer, template_db: Path, tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(sandbox, fresh_sqlite(template_db, tmp_path), test_clock())
    await seeded(h)
    yield h
    await h.close()


@pytest.fixture
async def bot(harness: Harness) -> AsyncIterator[Harness]:
    """The harness with the bot running."""
    await harness.start()
    yield harness
