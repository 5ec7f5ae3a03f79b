"""messages: the pending ones indexed in the delivery sweep's claim order

Revision ID: 5b8e1d2c4a7f
Revises: 5c1e0a7d2b94
Create Date: 2026-12-02 14:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b8e1d2c4a7f'
down_revision = '5c1e0a7d2b94'
branch_labels = None
depends_on = None

# NOT IN the final statuses: PostgreSQL proves the claim's OR implies it (not so "IN (pending)").
_PENDING = sa.text("status NOT IN ('sent', 'delivered', 'failed', 'skipped')")


def upgrade():
    # The claim (notifications.delivery._due: due queued/held rows or stale sending ones, by due_at
    # and id, 50 at a time) read the whole table on PostgreSQL, sent history included, and sorted it.
    # A partial index in its order holds only the backlog; the claim reads a batch off its front.
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_pending_due_at_id', ['due_at', 'id'], unique=False,
                              postgresql_where=_PENDING, sqlite_where=_PENDING)


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_pending_due_at_id', postgresql_where=_PENDING, sqlite_where=_PENDING)
