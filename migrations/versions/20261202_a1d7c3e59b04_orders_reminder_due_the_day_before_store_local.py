"""orders: reminder_due_at, the day before the pickup deadline in the store's calendar

Revision ID: a1d7c3e59b04
Revises: a7d3e91c4f25
Create Date: 2026-12-02 16:00:00.000000

"""
import datetime as dt
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1d7c3e59b04'
down_revision = 'a7d3e91c4f25'
branch_labels = None
depends_on = None

REMINDER_AT = dt.time(10)  # the default of PICKUP_REMINDER_LOCAL_TIME when this ran


def _due(zone: str, ready_at: dt.datetime, deadline: dt.datetime):
    """shop.orders.reminders.reminder_due_at as of this revision (a migration imports no app code)."""
    tz = ZoneInfo(zone)
    last_day = deadline.astimezone(tz).date()
    for day in (last_day - dt.timedelta(days=1), last_day):
        due = dt.datetime.combine(day, REMINDER_AT, tzinfo=tz).astimezone(dt.UTC)
        if ready_at <= due < deadline:
            return due
    return None


def _aware(value):
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_orders_status_reminder_due', ['status', 'reminder_due_at'], unique=False)
    # Ready orders still waiting for their reminder get the new rule's due time.
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT o.id, o.ready_at, o.pickup_deadline, s.timezone FROM orders o JOIN stores s ON s.id = o.store_id "
        "WHERE o.status = 'ready_for_pickup' AND o.reminder_sent_at IS NULL AND o.pickup_deadline IS NOT NULL"
    )).all()
    for order_id, ready_at, deadline, zone in rows:
        ready_at, deadline = _aware(ready_at or deadline), _aware(deadline)
        due = _due(zone, ready_at, deadline)
        if due is not None:
            bind.execute(sa.text("UPDATE orders SET reminder_due_at = :due WHERE id = :id")
                         .bindparams(sa.bindparam("due", type_=sa.DateTime(timezone=True))),
                         {"due": due, "id": order_id})


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_status_reminder_due')
        batch_op.drop_column('reminder_due_at')
