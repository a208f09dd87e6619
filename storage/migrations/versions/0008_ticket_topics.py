"""Staff group with one forum topic per ticket (issue 17): ticket_topics and outbox.topic_ticket_id

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'ticket_topics',
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('chat_id', sa.BigInteger(), nullable=False),
        sa.Column('message_thread_id', sa.BigInteger(), nullable=True),
        sa.Column('card_message_id', sa.BigInteger(), nullable=True),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('name', sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
        sa.PrimaryKeyConstraint('ticket_id'),
    )
    with op.batch_alter_table('ticket_topics', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_topics_thread', ['chat_id', 'message_thread_id'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('topic_ticket_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('topic_ticket_id')
    with op.batch_alter_table('ticket_topics', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_topics_thread')
    op.drop_table('ticket_topics')
