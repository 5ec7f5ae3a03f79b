"""The card service under faults, over real sockets: a call never outlasts its budget (counted in
attempts, never timed), and whatever goes wrong reaches users in our own words only."""

from __future__ import annotations

import re
import socket
import threading

import pytest

from shop.payments import gateway as payments
from tests.support.orders import cart_for, checkout
from tests.support.problems import assert_problem

LEAK = re.compile(r"127\.0\.0\.1|localhost|port|:\d{2,5}\b|stripe\.com|Error|pi_missing|No such", re.I)


class SilentServer:
    """Accepts connections on 127.0.0.1 and never answers: a provider that went quiet."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def silent():
    server = SilentServer()
    yield server
    server.close()


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"  # closed again: connections are refused


def test_a_silent_provider_gets_no_retry_that_would_outlast_the_budget(silent):
    # One attempt may take 0.5 s (connect 0.2 + read 0.3); a budget of 0.6 s holds no second one.
    gw = payments.Gateway("sk_test_x", silent.url, connect_timeout=0.2, read_timeout=0.3, retries=3, budget=0.6)
    with pytest.raises(payments.PaymentProviderError) as caught:
        gw.retrieve("pi_1")
    assert len(silent.accepted) == 1
    assert str(caught.value) == payments.NO_ANSWER and not caught.value.declined


def test_a_silent_provider_is_retried_while_the_budget_holds_whole_attempts(silent):
    gw = payments.Gateway("sk_test_x", silent.url, connect_timeout=0.2, read_timeout=0.3, retries=2, budget=30)
    with pytest.raises(payments.PaymentProviderError):
        gw.retrieve("pi_1")
    assert len(silent.accepted) == 3  # the first attempt and both retries


def test_a_refused_connection_reads_as_our_words_without_host_or_port():
    gw = payments.Gateway("sk_test_x", dead_url(), connect_timeout=0.5, read_timeout=0.5, retries=1, budget=5)
    with pytest.raises(payments.PaymentProviderError) as caught:
        gw.create(1200, "USD", "order:1", key="k")
    assert str(caught.value) == payments.NO_ANSWER
    assert not LEAK.search(str(caught.value))


def test_a_provider_refusal_reads_as_our_words_not_the_sdks(localstripe_url):
    gw = payments.Gateway("sk_test_x", localstripe_url)
    with pytest.raises(payments.PaymentProviderError) as caught:
        gw.retrieve("pi_missing")
    assert str(caught.value) == payments.REFUSED
    assert not LEAK.search(str(caught.value))


def test_declines_are_told_in_our_words():
    assert payments.decline_words("card_declined", "insufficient_funds") == "The card was declined: insufficient funds."
    assert payments.decline_words("card_declined", "stolen_card") == payments.DECLINED  # nothing to act on
    assert payments.decline_words("expired_card") == "The card was declined: it has expired."


def test_checkout_with_the_card_service_unreachable_is_our_502_and_keeps_nothing(app, client, store_world):
    app.config.update(STRIPE_SECRET_KEY="sk_test_unreachable", STRIPE_API_BASE=dead_url())
    try:
        cart_id = cart_for(client, store_world["store"], lines=(("MUG", 2),))
        resp = checkout(client, cart_id, payment_method="card")
    finally:
        app.config.update(STRIPE_SECRET_KEY="", STRIPE_API_BASE="")
    body = assert_problem(resp, 502, "payment_provider_unavailable")
    assert not LEAK.search(resp.get_data(as_text=True)), body
    stock = client.get(f"/api/v1/stores/{store_world['store'].id}/stock?skus=MUG").get_json()
    assert stock == [{"sku": "MUG", "available": 10}]  # nothing held for an order that was not made
