"""scheduler leases: one leader among scheduler processes

Revision ID: f49f4679d064
Revises: 8742e04c9fb0
Create Date: 2026-12-02 13:27:03.886619

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f49f4679d064'
down_revision = '8742e04c9fb0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scheduler_leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=255), nullable=False),
    sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_leases'))
    )


def downgrade():
    op.drop_table('scheduler_leases')
