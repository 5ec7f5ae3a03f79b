"""The PaymentIntent's idempotency key: the same client request for the same cart and amount, the same key."""

from __future__ import annotations

from shop.orders.checkout import intent_key


def test_the_same_request_asks_for_the_same_intent():
    assert intent_key("client-key-1", "cart-a", 2900, "USD") == intent_key("client-key-1", "cart-a", 2900, "USD")


def test_another_key_cart_amount_or_currency_asks_for_another_intent():
    base = intent_key("client-key-1", "cart-a", 2900, "USD")
    others = [intent_key("client-key-2", "cart-a", 2900, "USD"), intent_key("client-key-1", "cart-b", 2900, "USD"),
              intent_key("client-key-1", "cart-a", 2901, "USD"), intent_key("client-key-1", "cart-a", 2900, "EUR")]
    assert base not in others and len(set(others)) == 4


def test_the_key_fits_stripe_and_names_what_it_is_for():
    key = intent_key("k" * 255, "c" * 43, 10**9, "USD")
    assert key.startswith("pi-create-") and len(key) <= 255
    # No field can run into the next: "ab" + "c" is not "a" + "bc".
    assert intent_key("ab", "c", 1, "USD") != intent_key("a", "bc", 1, "USD")
