"""campaign_enrolments: a partial index on contact (active only), for an order's exit by a guest's email or phone

Revision ID: 5e1c7a9b3d20
Revises: b5e2d8f4c1a9
Create Date: 2026-12-02 17:25:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e1c7a9b3d20'
down_revision = 'b5e2d8f4c1a9'
branch_labels = None
depends_on = None

_ACTIVE = sa.text("status = 'active'")


def upgrade():
    op.create_index('ix_campaign_enrolments_active_contact', 'campaign_enrolments', ['contact'], unique=False,
                    postgresql_where=_ACTIVE, sqlite_where=_ACTIVE)


def downgrade():
    op.drop_index('ix_campaign_enrolments_active_contact', table_name='campaign_enrolments',
                  postgresql_where=_ACTIVE, sqlite_where=_ACTIVE)
