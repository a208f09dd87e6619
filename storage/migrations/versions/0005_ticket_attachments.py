"""Typed ticket attachments (documents, voice, video, video notes, photos): tickets.attachments

Existing rows get their photo ids as photo attachments; ``photos`` stays (still written).

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_tickets = sa.table('tickets', sa.column('id', sa.Integer()), sa.column('photos', sa.JSON()),
                    sa.column('attachments', sa.JSON()))


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachments', sa.JSON(), server_default='[]', nullable=False))
    conn = op.get_bind()
    rows = conn.execute(sa.select(_tickets.c.id, _tickets.c.photos)).all()
    for ticket_id, photos in rows:
        typed = [{'kind': 'photo', 'file_id': f} for f in photos or [] if isinstance(f, str) and f]
        if typed:
            conn.execute(sa.update(_tickets).where(_tickets.c.id == ticket_id).values(attachments=typed))


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('attachments')
