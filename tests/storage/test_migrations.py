"""The migrations build exactly the schema the models describe, and downgrade cleanly."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.migrate import (
    HEAD_REVISION,
    alembic_config,
    current_revision,
    head_revision,
    upgrade,
    upgrade_async,
)
from storage.models import Base


def _diff(path: Path) -> list[object]:
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(ctx, Base.metadata))
    finally:
        engine.dispose()


def test_upgrade_matches_the_models(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    assert _diff(path) == []


def test_head_revision_is_alembics(tmp_path: Path) -> None:
    """Revision ids are the version files' number prefixes, in one line of history."""
    assert head_revision(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}") == HEAD_REVISION


def test_upgrade_async_migrates_an_empty_database_then_skips(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    assert asyncio.run(current_revision(url)) is None
    assert asyncio.run(upgrade_async(url)) is True
    assert asyncio.run(current_revision(url)) == HEAD_REVISION
    assert asyncio.run(upgrade_async(url)) is False


def test_a_database_at_head_never_loads_alembic(tmp_path: Path) -> None:
    """What a restarting bot does: one query, and Alembic stays unimported."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    probe = ("import asyncio, sys; from storage.migrate import upgrade_async; "
             f"ran = asyncio.run(upgrade_async({url!r})); print(ran, 'alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.split() == ["False", "False"]


def test_downgrade_to_base_and_up_again(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(url)
    assert _diff(path) == []


def test_0006_types_the_photos_of_existing_tickets(tmp_path: Path) -> None:
    """Tickets from before typed attachments keep their photos: as photo attachments."""
    import json
    import sqlite3

    from bot.tickets import attachments

    path = tmp_path / "m.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0001")
    with sqlite3.connect(path) as conn:
        for number, photos in (("SD-2026-000001", ["P1", "P2"]), ("SD-2026-000002", [])):
            conn.execute(
                "INSERT INTO tickets (number, customer_label, reporter_name, reporter_user_id, verified,"
                " equipment_label, category, severity, symptom, photos, status, complaint, created_at)"
                " VALUES (?, 'C', 'R', 1, 0, '', 'cctv', 'down', 's', ?, 'new', 0, '2026-11-23 02:00:00')",
                (number, json.dumps(photos)),
            )
    upgrade(url, "0005")
    with sqlite3.connect(path) as conn:
        rows = dict(conn.execute("SELECT number, attachments FROM tickets").fetchall())
    assert json.loads(rows["SD-2026-000001"]) == [
        {"kind": "photo", "file_id": "P1"}, {"kind": "photo", "file_id": "P2"}
    ]
    assert json.loads(rows["SD-2026-000002"]) == []
    assert [a.file_id for a in attachments.parse(json.loads(rows["SD-2026-000001"]))] == ["P1", "P2"]
