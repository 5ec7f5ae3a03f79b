"""consent ledger: an erasure may replace an address with its HMAC (nothing else changes)

Revision ID: 2f4a9c7e1b30
Revises: 6813b2fb2ce3
Create Date: 2026-12-02 14:50:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '2f4a9c7e1b30'
down_revision = '6813b2fb2ce3'
branch_labels = None
depends_on = None

# The ledger stays append-only on PostgreSQL, with one exception: a data erasure
# (notifications/privacy.py) turns a readable address into 'hmac:' + its HMAC, the event kept as proof.
# Any other UPDATE, and every DELETE, is still refused. SQLite relies on the ORM guard.
ALLOW_ERASURE = """
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
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION consent_records_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'consent_records is append-only: record a new event instead';
END;
$$ LANGUAGE plpgsql
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(ALLOW_ERASURE)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY)
