"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 15:44:14.695701

Until the first release this revision creates the schema straight from ``storage.models``;
it is frozen into explicit operations at release, and every change after that is a new revision.
"""

from collections.abc import Sequence

from alembic import op

import storage.models

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    storage.models.Base.metadata.create_all(op.get_bind())


def downgrade() -> None:
    storage.models.Base.metadata.drop_all(op.get_bind())
