"""The stripe SDK drives PaymentIntents against localstripe over real HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest
import stripe

from tests.support.localstripe import localstripe_url  # noqa: F401


@pytest.fixture
def client(localstripe_url: str) -> stripe.StripeClient:  # noqa: F811
    # No retries: the SDK would otherwise retry localstripe's 500s ("Not implemented") with backoff.
    return stripe.StripeClient(
        "sk_test_12345", base_addresses={"api": localstripe_url}, max_network_retries=0
    )


def _authorized_intent(client: stripe.StripeClient) -> stripe.PaymentIntent:
    intent = client.v1.payment_intents.create(
        params={
            "amount": 5000,
            "currency": "usd",
            "capture_method": "manual",
            "payment_method_types": ["card"],
            # localstripe takes the payment method at create time only (confirm with one is a 500).
            "payment_method": "pm_card_visa",
        }
    )
    assert intent.status == "requires_confirmation"
    return client.v1.payment_intents.confirm(intent.id)


def test_manual_capture_intent_is_authorized(client: stripe.StripeClient) -> None:
    intent = _authorized_intent(client)

    assert intent.status == "requires_capture"
    assert intent.amount == 5000
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_capture"


def test_authorized_intent_can_be_canceled(client: stripe.StripeClient) -> None:
    intent = _authorized_intent(client)

    canceled = client.v1.payment_intents.cancel(intent.id)

    assert canceled.status == "canceled"
    assert client.v1.payment_intents.retrieve(intent.id).status == "canceled"
