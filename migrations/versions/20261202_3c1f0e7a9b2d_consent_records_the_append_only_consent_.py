"""consent records: the append-only consent ledger

Revision ID: 3c1f0e7a9b2d
Revises: ac442e6827a8
Create Date: 2026-12-02 13:10:29.802650

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c1f0e7a9b2d'
down_revision = 'ac442e6827a8'
branch_labels = None
depends_on = None


# On PostgreSQL the ledger refuses UPDATE and DELETE from any client (TRUNCATE, used by the test
# suite's clean slate, is not a row operation). SQLite relies on the ORM guard in consent_models.py.
APPEND_ONLY_FUNCTION = """
CREATE FUNCTION consent_records_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'consent_records is append-only: record a new event instead';
END;
$$ LANGUAGE plpgsql
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER consent_records_append_only BEFORE UPDATE OR DELETE ON consent_records
FOR EACH ROW EXECUTE FUNCTION consent_records_append_only()
"""


def upgrade():
    op.create_table('consent_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=254), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('wording', sa.String(length=2000), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f('ck_consent_records_channel_known')),
    sa.CheckConstraint("purpose IN ('transactional', 'marketing')", name=op.f('ck_consent_records_purpose_known')),
    sa.CheckConstraint("state IN ('granted', 'withdrawn')", name=op.f('ck_consent_records_state_known')),
    sa.CheckConstraint("source IN ('web', 'app', 'store', 'checkout', 'sms_keyword', 'sms_reply', 'unsubscribe_link', 'staff')", name=op.f('ck_consent_records_source_known')),
    sa.CheckConstraint('customer_id IS NOT NULL OR address IS NOT NULL', name=op.f('ck_consent_records_has_subject')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_records'))
    )
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.create_index('ix_consent_records_channel_address_id', ['channel', 'address', 'id'], unique=False)
        batch_op.create_index('ix_consent_records_customer_id_id', ['customer_id', 'id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(APPEND_ONLY_TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS consent_records_append_only ON consent_records')
        op.execute('DROP FUNCTION IF EXISTS consent_records_append_only()')
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_records_customer_id_id')
        batch_op.drop_index('ix_consent_records_channel_address_id')

    op.drop_table('consent_records')
