"""`flask shop create-user` and `flask shop demo` as an operator runs them."""

from __future__ import annotations

from inventory.models import LedgerEntry, Product, Stock
from notifications.campaigns.models import Campaign
from shop.accounts import auth
from shop.accounts.models import User
from shop.core.extensions import db
from shop.orders.models import Order
from stores.models import Store
from tests.support import factories as f


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["shop", *args], input=input)


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_create_staff_user_for_a_store(app):
    s = f.store(code="NYC09")
    db.session.commit()
    result = run(app, "create-user", "--email", "Clerk@Example.com", "--password",
                 "long-enough-pw", "--role", "staff", "--store", "NYC09")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.email == "clerk@example.com"))
    assert user.role == "staff" and user.store_ids == [s.id]
    assert auth.authenticate("clerk@example.com", "long-enough-pw").id == user.id


def test_create_user_password_from_prompt(app):
    result = run(app, "create-user", "--email", "boss@example.com", "--role", "admin",
                 input="prompted-pw-1\nprompted-pw-1\n")
    assert result.exit_code == 0, result.output
    assert auth.authenticate("boss@example.com", "prompted-pw-1").role == "admin"


def test_create_user_refuses_unknown_store_and_staff_without_store(app):
    bad = run(app, "create-user", "--email", "a@example.com", "--password", "long-enough-pw",
              "--role", "staff", "--store", "NOPE")
    assert bad.exit_code != 0 and "No store with code 'NOPE'" in bad.output
    none = run(app, "create-user", "--email", "a@example.com", "--password", "long-enough-pw",
               "--role", "staff")
    assert none.exit_code != 0 and "needs at least one store" in none.output
    assert count(User) == 0


def test_demo_is_complete_and_idempotent(app):
    first = run(app, "demo")
    assert first.exit_code == 0, first.output
    assert "admin@demo.omnishop.dev" in first.output
    figures = (count(Store), count(Product), count(Stock), count(User), count(LedgerEntry), count(Order),
               count(Campaign))
    assert run(app, "demo").exit_code == 0
    assert (count(Store), count(Product), count(Stock), count(User), count(LedgerEntry), count(Order),
            count(Campaign)) == figures
    campaign, follow_up, win_back = db.session.scalars(db.select(Campaign).order_by(Campaign.id)).all()
    assert (campaign.trigger, campaign.status) == ("cart_abandoned", "active")  # the abandoned-cart flow, running
    # and two examples, drafts: an email 14 days after a pickup, and a win-back with a coupon
    assert (follow_up.trigger, follow_up.status, follow_up.steps[0]["delay_minutes"], follow_up.steps[0]["template"]
            ) == ("order_picked_up", "draft", 14 * 24 * 60, "post_pickup_follow_up")
    assert (win_back.trigger, win_back.status, win_back.steps[0]["template"], win_back.steps[0]["incentive"]["kind"]
            ) == ("order_expired", "draft", "win_back", "percent")
    assert [(s["delay_minutes"], s["channel"], s["incentive"]) for s in campaign.steps] == [
        (60, "email", None), (1440, "sms", None), (4320, "email", {"kind": "percent", "value": 10, "valid_days": 7})]
    stores = db.session.scalars(db.select(Store)).all()
    assert len(stores) >= 3 and len({s.timezone for s in stores}) >= 3
    assert count(Product) >= 50
    assert count(Stock) == len(stores) * count(Product)
    roles = [u.role for u in db.session.scalars(db.select(User))]
    assert roles.count("staff") == len(stores) and "marketing" in roles and "admin" in roles
    # Every stock figure equals the sum of its ledger, and some SKUs are out of stock.
    for stock in db.session.scalars(db.select(Stock)):
        total = db.session.scalar(
            db.select(db.func.coalesce(db.func.sum(LedgerEntry.delta_on_hand), 0)).where(
                LedgerEntry.store_id == stock.store_id, LedgerEntry.product_id == stock.product_id
            )
        )
        assert stock.on_hand == total
    assert db.session.scalar(db.select(db.func.count()).where(Stock.on_hand == 0)) > 0
    # Every store has pickup orders in every status a store sees without a card provider.
    for store in stores:
        statuses = set(db.session.scalars(db.select(Order.status).where(Order.store_id == store.id)))
        assert statuses == {"placed", "picking", "ready_for_pickup", "picked_up", "cancelled", "expired"}
