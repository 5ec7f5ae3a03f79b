"""messages: the outbox (one row per message, queued in the business transaction)

Revision ID: ac442e6827a8
Revises: 097f532a87d2
Create Date: 2026-12-02 13:05:45.270640

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ac442e6827a8'
down_revision = '097f532a87d2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('template', sa.String(length=60), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('cart_id', sa.String(length=43), nullable=True),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('provider_id', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f('ck_messages_channel_known')),
    sa.CheckConstraint("purpose IN ('transactional', 'marketing')", name=op.f('ck_messages_purpose_known')),
    sa.CheckConstraint("status IN ('queued', 'held', 'sending', 'sent', 'delivered', 'failed', 'skipped')", name=op.f('ck_messages_status_known')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_messages_attempts_nonnegative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_messages_dedupe_key'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_customer_id_id', ['customer_id', 'id'], unique=False)
        batch_op.create_index('ix_messages_order_id_id', ['order_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index('ix_messages_status_due_at', ['status', 'due_at'], unique=False)



def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_status_due_at')
        batch_op.drop_index(batch_op.f('ix_messages_provider_id'))
        batch_op.drop_index('ix_messages_order_id_id')
        batch_op.drop_index('ix_messages_customer_id_id')

    op.drop_table('messages')
