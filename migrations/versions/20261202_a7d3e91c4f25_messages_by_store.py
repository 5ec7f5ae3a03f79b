"""messages: an index for a clerk's list (their stores' messages, newest first)

Revision ID: a7d3e91c4f25
Revises: 2f4a9c7e1b30
Create Date: 2026-12-02 16:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a7d3e91c4f25'
down_revision = '2f4a9c7e1b30'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_store_id_id', ['store_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_store_id_id')
