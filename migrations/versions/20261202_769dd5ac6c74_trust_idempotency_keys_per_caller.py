"""trust: idempotency keys per caller

Revision ID: 769dd5ac6c74
Revises: 5b8e1d2c4a7f
Create Date: 2026-12-02 13:47:42.561751

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '769dd5ac6c74'
down_revision = '5b8e1d2c4a7f'
branch_labels = None
depends_on = None


def upgrade():
    # A key is the caller's own: (scope, caller, key) is unique, so one caller's key is unknown to another.
    with op.batch_alter_table('idempotent_replies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('caller', sa.String(length=40), server_default='anonymous', nullable=False))
        batch_op.drop_constraint('uq_idempotent_replies_scope_key', type_='unique')
        batch_op.create_unique_constraint('uq_idempotent_replies_scope_caller_key', ['scope', 'caller', 'key'])


def downgrade():
    with op.batch_alter_table('idempotent_replies', schema=None) as batch_op:
        batch_op.drop_constraint('uq_idempotent_replies_scope_caller_key', type_='unique')
        batch_op.create_unique_constraint('uq_idempotent_replies_scope_key', ['scope', 'key'])
        batch_op.drop_column('caller')
