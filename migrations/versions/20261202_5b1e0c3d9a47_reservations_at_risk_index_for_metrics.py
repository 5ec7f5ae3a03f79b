"""reservations: a partial index of open holds at risk, so /metrics counts them cheaply

Revision ID: 5b1e0c3d9a47
Revises: 9b7d3e51c0a2
Create Date: 2026-12-02 16:10:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '5b1e0c3d9a47'
down_revision = '9b7d3e51c0a2'
branch_labels = None
depends_on = None

AT_RISK = sa.text("at_risk AND status = 'active'")


def upgrade():
    op.create_index('ix_reservations_at_risk', 'reservations', ['expires_at'],
                    postgresql_where=AT_RISK, sqlite_where=AT_RISK)


def downgrade():
    op.drop_index('ix_reservations_at_risk', table_name='reservations')
