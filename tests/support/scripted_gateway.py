"""A scripted stand-in for Stripe where localstripe is not faithful (it ignores idempotency keys and
models a partial capture as capture + refund): intents in memory, every call recorded with its key."""

from __future__ import annotations

import pytest

from shop.payments import gateway as payments


class ScriptedGateway:
    """Stands in for Stripe: keeps intents in memory and records every call with its key. Like
    Stripe, a create with a key already used returns the intent that key made."""

    def __init__(self):
        self.calls, self.intents, self.fail_capture_after_success = [], {}, False
        self.lose_create_reply = False  # Stripe makes the intent, but its reply never reaches us
        self.by_key: dict[str, str] = {}

    def _intent(self, intent_id):
        return self.intents[intent_id]

    def create(self, amount, currency, reference, key):
        self.calls.append(("create", key))
        if key in self.by_key:
            return self.intents[self.by_key[key]]
        intent = payments.Intent(f"pi_{len(self.intents)}", "requires_payment_method", amount, 0, 0, "secret")
        self.intents[intent.id] = intent
        self.by_key[key] = intent.id
        if self.lose_create_reply:
            self.lose_create_reply = False
            raise payments.PaymentProviderError("connection reset")
        return intent

    def retrieve(self, intent_id):
        return self._intent(intent_id)

    def capture(self, intent_id, amount, key):
        self.calls.append(("capture", key, amount))
        done = payments.Intent(intent_id, "succeeded", amount, 0, amount, None)
        self.intents[intent_id] = done
        if self.fail_capture_after_success:  # Stripe captured, but the answer never reached us
            raise payments.PaymentProviderError("connection reset")
        return done

    def cancel(self, intent_id, key):
        self.calls.append(("cancel", key))
        if self._intent(intent_id).status == "succeeded":
            raise payments.PaymentProviderError("already captured")
        self.intents[intent_id] = payments.Intent(intent_id, "canceled", 0, 0, 0, None)
        return self.intents[intent_id]

    def refund(self, intent_id, amount, key):
        self.calls.append(("refund", key, amount))
        return "re_1"


@pytest.fixture
def gateway(app):
    fake = ScriptedGateway()
    app.config["STRIPE_SECRET_KEY"] = "sk_scripted"
    app.extensions.setdefault("omnishop-stripe", {})["sk_scripted"] = fake
    yield fake
    app.config["STRIPE_SECRET_KEY"] = ""


def ready_card_order(client, world, gateway, lines=(("MUG", 2),)) -> dict:
    """A card order at the world's store, authorised at the scripted gateway, picked and ready: the
    checkout's answer."""
    from shop.core.extensions import db
    from shop.orders import payment_events as order_payments
    from shop.orders import queries as orders
    from tests.support.orders import cart_for, checkout

    body = checkout(client, cart_for(client, world["store"], lines=lines), payment_method="card").get_json()
    order = orders.get_order(body["order"]["id"])
    intent = gateway.intents[order.payment.intent_id]
    order_payments.on_authorized(order, payments.Intent(intent.id, "requires_capture", intent.amount,
                                                        intent.amount, 0, None))
    db.session.commit()
    for path in ("picking", "ready"):
        assert client.post(f"/api/v1/orders/{order.id}/{path}", headers=world["staff"]).status_code == 200
    return body
