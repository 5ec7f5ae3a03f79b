"""The outbox joins the business transaction: rolled back -> nothing; committed -> sent; repeated -> once."""

from __future__ import annotations

import threading

import pytest

from notifications.delivery import deliver_due
from notifications.outbox import enqueue
from shop.accounts import service as accounts
from shop.core import events
from shop.core.extensions import db
from shop.orders import states
from shop.orders.models import Order
from tests.support.messages import outbox
from tests.support.orders import cart_for, checkout


def test_a_rolled_back_sign_up_sends_nothing_and_a_committed_one_sends_one_mail(app, smtp_server):
    accounts.sign_up("rolled@example.com", "password-123", "Rolled Back")
    db.session.rollback()
    assert outbox() == []
    deliver_due()
    assert smtp_server.received == []

    accounts.sign_up("kept@example.com", "password-123", "Kept")
    db.session.commit()
    deliver_due()
    deliver_due()
    [mail] = smtp_server.received
    assert mail["To"] == "kept@example.com" and "Confirm your email" in mail["Subject"]
    [row] = outbox()
    assert row.status == "sent" and row.attempts == 1


def test_a_sign_up_for_a_taken_email_queues_nothing(client, app, smtp_server):
    body = {"email": "twice@example.com", "password": "password-123", "name": "Twice"}
    assert client.post("/api/v1/customers", json=body).status_code == 202
    assert client.post("/api/v1/customers", json=body).status_code == 202  # the same answer; nothing written
    assert [m.to_address for m in outbox()] == ["twice@example.com"]


def test_a_repeated_signal_queues_each_message_once(client, app, store_world):
    cart = cart_for(client, store_world["store"])
    assert checkout(client, cart, phone="+14155550123", sms_updates=True).status_code == 201
    order = db.session.scalar(db.select(Order))
    for _ in range(3):
        events.order_placed.send(app, **states.message_fields(order), reason=None)
        events.order_ready.send(app, **states.message_fields(order), reason=None)
    db.session.commit()
    assert sorted((m.template, m.channel) for m in outbox()) == [
        ("order_placed", "email"), ("order_ready", "email"), ("order_ready", "sms")]


def test_a_request_does_no_network_io_even_with_the_mail_server_down(client, app, store_world, smtp_server):
    smtp_server.stop()
    cart = cart_for(client, store_world["store"])
    assert checkout(client, cart).status_code == 201
    [row] = outbox()
    assert (row.template, row.status, row.attempts) == ("order_placed", "queued", 0)


@pytest.mark.postgres
def test_the_same_dedupe_key_from_two_transactions_at_once_is_one_row(app, wide_app):
    barrier = threading.Barrier(2)
    results = []

    def one():
        with wide_app.app_context():
            barrier.wait()
            results.append(enqueue(template="promotion", channel="email", purpose="marketing", to="a@example.com",
                                   dedupe_key="promo:1:0:email", context={}))
            db.session.commit()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1
    assert len(outbox()) == 1


@pytest.mark.postgres
def test_two_sweeps_at_once_send_every_message_exactly_once(app, wide_app, smtp_server):
    for n in range(30):
        accounts.sign_up(f"race{n}@example.com", "password-123", f"Race {n}")
    db.session.commit()
    wide_app.config.update(smtp_server.config())
    barrier = threading.Barrier(3)

    def sweep():
        with wide_app.app_context():
            barrier.wait()
            deliver_due()

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    received = sorted(m["To"] for m in smtp_server.received)
    assert received == sorted(f"race{n}@example.com" for n in range(30))
    assert {m.status for m in outbox()} == {"sent"} and {m.attempts for m in outbox()} == {1}
