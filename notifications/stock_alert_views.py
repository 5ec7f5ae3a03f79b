"""POST/DELETE /stores/{store_id}/stock-alerts: a shopper asks to be told once when a SKU is back there.

In notifications beside its table and receiver (inventory may not import notifications); the URL
sits under /stores because an alert is about one store's shelf.
"""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from notifications import stock_alerts
from notifications.outbox import LOCALES
from shop.accounts import auth
from shop.accounts.contact import Email, Phone, mask_address
from shop.accounts.models import User
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.http import headers, problems
from shop.core.transactions import transactional

blp = Blueprint("stock_alerts", __name__, description="Back-in-stock alerts: told once when a SKU is back at a store")

SOURCES = ("web", "app", "store")


class StockAlertCreateSchema(Schema):
    sku = fields.String(required=True, validate=validate.Length(1, 64))
    email = Email(validate=validate.Length(max=254))
    phone = Phone()

    @validates_schema
    def _one_contact(self, data, **kwargs):
        if data.get("email") and data.get("phone"):
            raise ValidationError({"phone": ["Give an email or a phone number, not both."]})


class StockAlertSchema(Schema):
    id = fields.String(required=True, metadata={"description": "The key to cancel the alert (DELETE)"})
    store_id = fields.Integer(required=True)
    sku = fields.String(required=True)
    channel = fields.String(required=True, metadata={"enum": ["email", "sms"]})
    to = fields.Function(lambda alert: mask_address(alert.address), required=True, metadata={"type": "string"})
    status = fields.String(required=True, metadata={"enum": ["waiting", "told", "cancelled"]})
    created_at = fields.DateTime(required=True)


def _source() -> str:
    channel = request.headers.get("X-Channel", "web").strip().lower()
    if channel not in SOURCES:
        raise DomainError("unknown_channel", "X-Channel must be web, app or store.")
    return channel


def _shopper() -> User | None:
    """The signed-in customer, or None for a guest; staff, marketing and admin accounts do not subscribe."""
    caller = auth.current_caller()
    if caller is None:
        return None
    if caller.role != "customer":
        raise DomainError("forbidden", "Back-in-stock alerts are for shoppers.")
    return db.session.get(User, caller.id)


@blp.route("/stores/<int:store_id>/stock-alerts")
class StockAlerts(MethodView):
    @blp.arguments(StockAlertCreateSchema())
    @transactional
    @blp.response(201, StockAlertSchema)
    @blp.alt_response(200, schema=StockAlertSchema, description="An alert already waiting for this address")
    @headers("X-Channel")
    @problems("unauthorized", "forbidden", "unknown_channel", "store_not_found", "unknown_sku", "contact_required",
              "sms_stopped", "stock_available_now")
    def post(self, data, store_id):
        """Tell me once (by email or text) when this SKU is back at this store; a guest gives an email or phone."""
        source, customer = _source(), _shopper()
        alert, created = stock_alerts.subscribe(
            store_id, data["sku"], customer=customer, email=data.get("email"), phone=data.get("phone"),
            locale=request.accept_languages.best_match(LOCALES), source=source)
        return alert, 201 if created else 200


@blp.route("/stores/<int:store_id>/stock-alerts/<string(length=43):alert_id>")
class StockAlertItem(MethodView):
    @transactional
    @blp.response(204)
    @problems("stock_alert_not_found")
    def delete(self, store_id, alert_id):
        """Cancel an alert: its id is the key (as a cart's id is a guest's)."""
        stock_alerts.cancel(store_id, alert_id)
