"""consent records: who recorded it at which store; pending marketing email (double opt-in)

Revision ID: c4e8f1a2d6b7
Revises: a1d7c3e59b04
Create Date: 2026-12-02 16:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e8f1a2d6b7'
down_revision = 'a1d7c3e59b04'
branch_labels = None
depends_on = None

OLD_STATES = "state IN ('granted', 'withdrawn')"
NEW_STATES = "state IN ('granted', 'withdrawn', 'pending')"
OLD_SOURCES = ("source IN ('web', 'app', 'store', 'checkout', 'sms_keyword', 'sms_reply', 'unsubscribe_link', "
               "'staff')")
NEW_SOURCES = ("source IN ('web', 'app', 'store', 'checkout', 'sms_keyword', 'sms_reply', 'unsubscribe_link', "
               "'staff', 'email_confirmation')")

# The erasure exception of 2f4a9c7e1b30, now also keeping store_id and actor_id unchanged.
ALLOW_ERASURE = """
CREATE OR REPLACE FUNCTION consent_records_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.address LIKE 'hmac:%' AND OLD.address IS NOT NULL AND OLD.address NOT LIKE 'hmac:%'
       AND (NEW.id, NEW.customer_id, NEW.channel, NEW.purpose, NEW.state, NEW.source, NEW.wording,
            NEW.reference, NEW.occurred_at, NEW.store_id, NEW.actor_id)
           IS NOT DISTINCT FROM (OLD.id, OLD.customer_id, OLD.channel, OLD.purpose, OLD.state, OLD.source,
                                 OLD.wording, OLD.reference, OLD.occurred_at, OLD.store_id, OLD.actor_id) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'consent_records is append-only: record a new event instead';
END;
$$ LANGUAGE plpgsql
"""
PREVIOUS = """
CREATE OR REPLACE FUNCTION consent_records_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.address LIKE 'hmac:%' AND OLD.address IS NOT NULL AND OLD.address NOT LIKE 'hmac:%'
       AND (NEW.id, NEW.customer_id, NEW.channel, NEW.purpose, NEW.state, NEW.source, NEW.wording,
            NEW.reference, NEW.occurred_at)
           IS NOT DISTINCT FROM (OLD.id, OLD.customer_id, OLD.channel, OLD.purpose, OLD.state, OLD.source,
                                 OLD.wording, OLD.reference, OLD.occurred_at) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'consent_records is append-only: record a new event instead';
END;
$$ LANGUAGE plpgsql
"""


def _checks(batch_op, states: str, sources: str) -> None:
    batch_op.drop_constraint(batch_op.f('ck_consent_records_state_known'), type_='check')
    batch_op.drop_constraint(batch_op.f('ck_consent_records_source_known'), type_='check')
    batch_op.create_check_constraint(batch_op.f('ck_consent_records_state_known'), states)
    batch_op.create_check_constraint(batch_op.f('ck_consent_records_source_known'), sources)


def upgrade():
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('store_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('actor_id', sa.Integer(), nullable=True))
        _checks(batch_op, NEW_STATES, NEW_SOURCES)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(ALLOW_ERASURE)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PREVIOUS)
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        _checks(batch_op, OLD_STATES, OLD_SOURCES)
        batch_op.drop_column('actor_id')
        batch_op.drop_column('store_id')
