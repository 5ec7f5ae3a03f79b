"""consent records: a pending yes whose confirmation link expired lapses (source confirmation_expired)

Revision ID: b5e2d8f4c1a9
Revises: a7c3e91b5d20
Create Date: 2026-12-02 17:40:00

The downgrade fails while the ledger holds a lapse (it is append-only: nothing is removed to fit).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b5e2d8f4c1a9'
down_revision = 'a7c3e91b5d20'
branch_labels = None
depends_on = None

OLD_SOURCES = ("source IN ('web', 'app', 'store', 'checkout', 'sms_keyword', 'sms_reply', 'unsubscribe_link', "
               "'staff', 'email_confirmation')")
NEW_SOURCES = ("source IN ('web', 'app', 'store', 'checkout', 'sms_keyword', 'sms_reply', 'unsubscribe_link', "
               "'staff', 'email_confirmation', 'confirmation_expired')")


def _sources(sources: str) -> None:
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_consent_records_source_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_consent_records_source_known'), sources)


def upgrade():
    _sources(NEW_SOURCES)


def downgrade():
    _sources(OLD_SOURCES)
