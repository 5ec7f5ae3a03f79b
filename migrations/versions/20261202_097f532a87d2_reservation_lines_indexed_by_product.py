"""reservation lines indexed by product

Revision ID: 097f532a87d2
Revises: 8742e04c9fb0
Create Date: 2026-12-02 12:51:15.816916

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '097f532a87d2'
down_revision = '8742e04c9fb0'
branch_labels = None
depends_on = None


def upgrade():
    # "Units of expired holds for this product at this store" (inventory.stock.expired_units) had
    # only the store's expired holds to start from: with a backlog, every SKU read walked all of it.
    with op.batch_alter_table('reservation_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reservation_lines_product_id'), ['product_id'], unique=False)


def downgrade():
    with op.batch_alter_table('reservation_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reservation_lines_product_id'))
