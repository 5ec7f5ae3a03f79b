"""Our Stripe gateway against localstripe over HTTP: what it asks for, what it reads back, how errors come back.

(Replaces a smoke test of the stripe SDK itself: what matters is our gateway's side of it.)
"""

from __future__ import annotations

import pytest
import stripe

from shop.payments import gateway as payments


@pytest.fixture
def stripe_sdk(localstripe_url) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_gateway", base_addresses={"api": localstripe_url}, max_network_retries=0)


@pytest.fixture
def gw(localstripe_url) -> payments.Gateway:
    return payments.Gateway("sk_test_gateway", localstripe_url)


def _shopper_confirms(sdk: stripe.StripeClient, intent_id: str) -> None:
    sdk.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
    sdk.v1.payment_intents.confirm(intent_id)


def test_an_intent_is_created_for_manual_capture_and_read_back_as_ours(gw, stripe_sdk):
    intent = gw.create(2900, "USD", "order:NYC-7K3QXA", key="pi-create-test-1")
    assert intent.status == "requires_payment_method" and intent.amount == 2900
    assert intent.client_secret and intent.amount_received == 0 and intent.last_error is None
    at_stripe = stripe_sdk.v1.payment_intents.retrieve(intent.id)
    assert at_stripe.capture_method == "manual" and at_stripe.currency == "usd"
    assert at_stripe.metadata["reference"] == "order:NYC-7K3QXA"
    _shopper_confirms(stripe_sdk, intent.id)
    assert gw.retrieve(intent.id).status == "requires_capture"


def test_a_capture_and_a_void_end_in_the_state_we_read(gw, stripe_sdk):
    captured = gw.create(1200, "USD", "order:A", key="pi-create-test-2")
    _shopper_confirms(stripe_sdk, captured.id)
    assert gw.capture(captured.id, 1200, key="pi-capture-test-2").status == "succeeded"
    voided = gw.create(500, "USD", "order:B", key="pi-create-test-3")
    _shopper_confirms(stripe_sdk, voided.id)
    assert gw.cancel(voided.id, key="pi-cancel-test-3").status == "canceled"
    assert gw.refund(captured.id, 200, key="re-test-2").startswith("re_")


def test_stripe_refusals_come_back_as_provider_errors_that_are_not_declines(gw, stripe_sdk):
    with pytest.raises(payments.PaymentProviderError) as unknown:
        gw.retrieve("pi_does_not_exist")
    assert unknown.value.declined is False
    cancelled = gw.create(700, "USD", "order:C", key="pi-create-test-4")
    gw.cancel(cancelled.id, key="pi-cancel-test-4")
    with pytest.raises(payments.PaymentProviderError) as late:
        gw.capture(cancelled.id, 700, key="pi-capture-test-4")
    assert late.value.declined is False
