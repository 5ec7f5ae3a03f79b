"""A verified email brings the shopper's guest history into the account: earlier carts and orders.

Only a verified address links anything (never a name, never an unverified contact), so nobody can
see another person's orders by signing up with their email.
"""

from __future__ import annotations

from flask import Flask

from shop.accounts.models import User
from shop.carts import claims as cart_claims
from shop.core import events
from shop.core.extensions import db
from shop.orders import queries as orders


def link(customer: User) -> None:
    cart_claims.link_verified_email(customer)
    orders.link_guest_orders(customer.id, customer.email)


def init_app(app: Flask) -> None:
    def on_verified(sender, user_id: int, **_):
        link(db.session.get(User, user_id))

    events.customer_email_verified.connect(on_verified, sender=app, weak=False)
