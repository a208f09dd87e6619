"""The migrations build exactly the schema the models describe, and downgrade cleanly."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.migrate import alembic_config, upgrade
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
