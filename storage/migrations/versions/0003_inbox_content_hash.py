"""inbox content hash: a re-delivery is the same update id *and* the same content

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # rows stored before have no hash: the inbox computes it from their payload when needed
    with op.batch_alter_table('inbox') as batch:
        batch.add_column(sa.Column('content_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inbox') as batch:
        batch.drop_column('content_hash')
