"""Preferences endpoints: a customer reads and sets their consent; staff, marketing and admin read it;
staff record a choice a customer made at their counter."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from notifications import choices, consent
from notifications.schemas_consent import (
    ConsentEventSchema,
    CounterConsentSchema,
    PreferencesSchema,
    PreferencesUpdateSchema,
)
from shop.accounts import auth
from shop.accounts.models import User
from shop.core import ports
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.http import headers, problems
from shop.core.transactions import transactional

blp = Blueprint("preferences", __name__, description="Consent to emails and texts, per channel and purpose")

SELF_SERVICE_SOURCES = ("web", "app", "store")  # what X-Channel may name


def _source() -> str:
    """Where the customer said it: X-Channel (web, app, store; web when absent)."""
    channel = request.headers.get("X-Channel", "web").strip().lower()
    if channel not in SELF_SERVICE_SOURCES:
        raise DomainError("unknown_channel", "X-Channel must be web, app or store.")
    return channel


def _customer(customer_id: int) -> User:
    customer = db.session.get(User, customer_id)
    if customer is None or customer.role != "customer":
        raise DomainError("customer_not_found", f"No customer {customer_id}.")
    return customer


def _view(customer: User) -> dict:
    return {"customer_id": customer.id, "email": customer.email, "phone": customer.phone,
            "preferences": consent.preferences(customer), "history": consent.history(customer)}


@blp.route("/me/preferences")
class MyPreferences(MethodView):
    @auth.roles_required("customer")
    @blp.response(200, PreferencesSchema)
    def get(self):
        """My consent per channel and purpose, what it allows now, and its history."""
        return _view(_customer(auth.current_caller().id))

    @auth.roles_required("customer")
    @blp.arguments(PreferencesUpdateSchema())
    @transactional
    @blp.response(200, PreferencesSchema)
    @headers("X-Channel")
    @problems("unknown_channel", "phone_required", "sms_stopped")
    def put(self, data):
        """Turn offers by email or text on or off; the wording shown is kept with the choice."""
        customer = _customer(auth.current_caller().id)
        wanted = {channel: data[f"{channel}_marketing"] for channel in ("email", "sms")
                  if f"{channel}_marketing" in data}
        choices.set_marketing(customer, wanted, data["wording"], _source())
        return _view(customer)


@blp.route("/customers/<int:customer_id>/preferences")
class CustomerPreferences(MethodView):
    @auth.roles_required(*auth.STAFF_ROLES)
    @blp.response(200, PreferencesSchema)
    @problems("customer_not_found")
    def get(self, customer_id):
        """A customer's consent and its history (staff at the counter, marketing, admin)."""
        return _view(_customer(customer_id))


@blp.route("/stores/<int:store_id>/customers/<int:customer_id>/consents")
class CounterConsent(MethodView):
    @auth.store_staff_required
    @blp.arguments(CounterConsentSchema())
    @transactional
    @blp.response(201, ConsentEventSchema)
    @problems("store_not_found", "customer_not_found", "phone_required", "sms_stopped")
    def post(self, data, store_id, customer_id):
        """Record a choice a customer made at this store's counter: staff of the store (or an admin)
        as the actor, the wording shown; a yes to offers by email waits for the customer's confirmation."""
        store = ports.ask("store_label", store_id)
        if store is None:
            raise DomainError("store_not_found", f"No store with id {store_id}.")
        return choices.at_store(_customer(customer_id), store, auth.current_caller().id, data["channel"],
                                data["purpose"], data["state"] == consent.GRANTED, data["wording"])
