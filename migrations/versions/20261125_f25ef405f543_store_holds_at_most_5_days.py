"""store holds at most 5 days, as the API always said (the CHECK allowed 7)

Revision ID: f25ef405f543
Revises: 3c1f0e7a9b2d
Create Date: 2026-11-25 10:00:00.000000

A card authorisation lasts 7 days and a hold ends at the closing time of its last day, so a hold of
6 or 7 days could outlive the authorisation (shop/core/limits.py). Rows written past the API with 6
or 7 days are brought down to 5 first. The bounds are written out: a migration is history, it never
reads today's constants.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f25ef405f543'
down_revision = '3c1f0e7a9b2d'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE stores SET hold_days = 5 WHERE hold_days > 5")
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_stores_hold_days_range'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_stores_hold_days_range'), 'hold_days BETWEEN 1 AND 5')


def downgrade():
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_stores_hold_days_range'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_stores_hold_days_range'), 'hold_days BETWEEN 1 AND 7')
