"""reservation lines: their hold's store, expiry and liveness, indexed while live

Revision ID: 097f532a87d2
Revises: f49f4679d064
Create Date: 2026-12-02 12:51:15.816916

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '097f532a87d2'
down_revision = 'f49f4679d064'
branch_labels = None
depends_on = None

_OF_HOLD = "(SELECT r.{} FROM reservations AS r WHERE r.id = reservation_lines.reservation_id)"


def upgrade():
    # "Units of expired holds of this SKU at this store" (inventory.stock.expired_units) could only
    # start from all the store's expired holds: with a backlog, every SKU read walked all of it. An
    # index on product_id alone would walk the SKU's whole history instead. Lines now carry their
    # hold's store, expiry and liveness, and a partial index holds only the live ones.
    with op.batch_alter_table('reservation_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('store_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('live', sa.Boolean(), nullable=False, server_default=sa.true()))
    op.execute("UPDATE reservation_lines SET store_id = {}, expires_at = {}, live = {}".format(
        _OF_HOLD.format("store_id"), _OF_HOLD.format("expires_at"), _OF_HOLD.format("status") + " = 'active'"))
    with op.batch_alter_table('reservation_lines', schema=None) as batch_op:
        batch_op.alter_column('store_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.alter_column('live', existing_type=sa.Boolean(), server_default=None)
        batch_op.create_foreign_key(batch_op.f('fk_reservation_lines_store_id_stores'), 'stores', ['store_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_index('ix_reservation_lines_live', ['store_id', 'product_id', 'expires_at'], unique=False,
                              postgresql_where=sa.text('live'), sqlite_where=sa.text('live'))


def downgrade():
    with op.batch_alter_table('reservation_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_reservation_lines_live', postgresql_where=sa.text('live'),
                            sqlite_where=sa.text('live'))
        batch_op.drop_constraint(batch_op.f('fk_reservation_lines_store_id_stores'), type_='foreignkey')
        batch_op.drop_column('live')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('store_id')
