"""payments.refund_since: when a refund went in flight, for the sweep that settles refunds left in flight

Revision ID: a7c3e91b5d20
Revises: 2b679c99ceb0
Create Date: 2026-12-02 17:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e91b5d20'
down_revision = '2b679c99ceb0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refund_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_payments_refund_since', ['refund_since'], unique=False)
    # A refund already stuck in flight is settled by the first run after the grace period.
    op.execute("UPDATE payments SET refund_since = CURRENT_TIMESTAMP "
               "WHERE refund_pending IS NOT NULL AND CAST(refund_pending AS TEXT) <> 'null'")


def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_refund_since')
        batch_op.drop_column('refund_since')
