"""payments: capture pending, void attempts, next try, last check, attention for staff

Revision ID: 5c1e0a7d2b94
Revises: f25ef405f543
Create Date: 2026-12-02 13:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c1e0a7d2b94'
down_revision = 'f25ef405f543'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('capture_pending', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('void_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_try_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('attention', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('flagged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_payments_flagged_at', ['flagged_at'], unique=False)


def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_flagged_at')
        batch_op.drop_column('flagged_at')
        batch_op.drop_column('attention')
        batch_op.drop_column('checked_at')
        batch_op.drop_column('next_try_at')
        batch_op.drop_column('void_attempts')
        batch_op.drop_column('capture_pending')
