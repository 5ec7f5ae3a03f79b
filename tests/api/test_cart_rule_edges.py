"""The edges of the cart rules that the flows above do not reach: the exact boundaries of a coupon's
dates and minimum, per-shopper limits for a guest known only by email and for an account without
one, a merge that ends exactly at the cap, and which lines a change is judged on.

Found by `make mutants` (shop/carts/rules.py): each test fails for a mutant that survived before.
"""

from __future__ import annotations

import datetime as dt

import pytest

from shop.carts import coupons, rules
from shop.carts.models import Coupon
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.limits import MAX_LINE_QUANTITY
from tests.support import factories as f

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def line(sku: str, quantity: int = 1, currency: str = "USD", active: bool = True) -> rules.Line:
    return rules.Line(sku, quantity, currency, active)


def test_setting_a_quantity_changes_that_line_only():
    lines = [line("MUG", 2), line("TEA", 3)]
    assert rules.with_quantity(lines, "TEA", 7) == [line("MUG", 2), line("TEA", 7)]


def test_every_line_no_longer_sold_is_named():
    error = rules.breach([line("MUG", active=False), line("TEA", active=False)])
    assert error.code == "unknown_sku"
    assert error.detail == "No longer sold: MUG, TEA."


def test_a_merge_is_judged_on_its_own_line_not_on_a_line_already_unavailable():
    quantity, note = rules.merged([line("OLD", active=False)], line("MUG", 2))
    assert (quantity, note) == (2, None)


def test_a_merge_that_reaches_the_cap_exactly_is_not_capped():
    quantity, note = rules.merged([line("MUG", MAX_LINE_QUANTITY - 4)], line("MUG", 4))
    assert (quantity, note) == (MAX_LINE_QUANTITY, None)


@pytest.fixture
def coupon(app):
    made = Coupon(code="SPRING", kind="percent", value=10, min_subtotal=2000,
                  starts_at=NOW, ends_at=NOW + dt.timedelta(days=7), max_uses_per_customer=1)
    db.session.add(made)
    db.session.flush()
    return made


def refusal(coupon: Coupon, **kw) -> DomainError | None:
    args = {"subtotal": 5000, "currency": "USD", "now": NOW, **kw}
    try:
        rules.check_coupon(coupon, **args)
    except DomainError as error:
        return error
    return None


def test_a_coupon_works_from_its_first_instant_and_not_at_its_end(coupon):
    assert refusal(coupon, now=NOW) is None
    assert refusal(coupon, now=NOW - dt.timedelta(seconds=1)).code == "coupon_not_started"
    assert refusal(coupon, now=coupon.ends_at - dt.timedelta(seconds=1)) is None
    assert refusal(coupon, now=coupon.ends_at).code == "coupon_expired"


def test_a_subtotal_equal_to_the_minimum_is_enough_and_a_refusal_says_the_minimum(coupon):
    assert refusal(coupon, subtotal=2000) is None
    error = refusal(coupon, subtotal=1999)
    assert error.code == "coupon_min_subtotal"
    assert error.extra == {"coupon": "SPRING", "min_subtotal": 2000}


def test_a_guest_known_by_email_cannot_use_a_once_per_shopper_coupon_twice(coupon):
    coupons.redeem(coupon, order_id=1, customer_id=None, email="guest@example.com")
    db.session.flush()
    assert refusal(coupon, email="guest@example.com").code == "coupon_used"
    assert refusal(coupon, email="other@example.com") is None


def test_an_account_cannot_use_a_once_per_shopper_coupon_twice_even_without_an_email(coupon):
    customer = f.user(email="ann@example.com")
    coupons.redeem(coupon, order_id=1, customer_id=customer.id, email=None)
    db.session.flush()
    assert refusal(coupon, customer_id=customer.id).code == "coupon_used"
