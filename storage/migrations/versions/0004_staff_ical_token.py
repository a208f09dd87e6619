"""staff.ical_token: the secret of each engineer's private calendar subscription URL

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 07:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('staff') as batch:
        batch.add_column(sa.Column('ical_token', sa.String(length=64), nullable=True))
        batch.create_unique_constraint('uq_staff_ical_token', ['ical_token'])


def downgrade() -> None:
    with op.batch_alter_table('staff') as batch:
        batch.drop_constraint('uq_staff_ical_token', type_='unique')
        batch.drop_column('ical_token')
