"""Texts through the real twilio SDK against a stand-in on 127.0.0.1: outages, refusals, delivery reports."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from notifications.delivery import deliver_due
from tests.support.messages import outbox, twilio_signed
from tests.support.pickup import ready_order
from tests.support.twilio_standin import AUTH_TOKEN

STATUS_PATH = "/api/v1/webhooks/twilio/status"
AFTERNOON_IN_NEW_YORK = dt.datetime(2026, 11, 24, 15, 0, tzinfo=ZoneInfo("America/New_York"))
PHONES = ["+14155550101", "+14155550102", "+14155550103"]


@pytest.fixture
def afternoon(frozen_clock):
    frozen_clock.set(AFTERNOON_IN_NEW_YORK)
    return frozen_clock


def texts() -> list:
    return outbox(channel="sms")


def report(client, app, message, status: str, sid: str | None = None, **extra):
    form = {"MessageSid": sid or message.provider_id, "MessageStatus": status, **extra}
    return twilio_signed(client, f"{STATUS_PATH}?message_id={message.id}", form, AUTH_TOKEN, app.config["PUBLIC_BASE_URL"])


def test_a_500_a_timeout_and_a_429_are_retried_and_each_text_arrives_once(client, app, store_world,
                                                                           twilio_standin, afternoon):
    for phone in PHONES:
        ready_order(client, store_world, phone=phone, sms_updates=True)
    twilio_standin.script = [500, "hang", 429]
    counts = deliver_due()
    assert counts["retrying"] == 3
    assert sorted(m.reason.split(":")[0] for m in texts()) == ["twilio 429 20429", "twilio 500 20500",
                                                                "twilio unavailable"]
    assert twilio_standin.accepted == []

    afternoon.advance(hours=1)
    deliver_due()
    afternoon.advance(hours=1)
    deliver_due()
    assert sorted(m["To"] for m in twilio_standin.accepted) == PHONES
    sids = {m["sid"] for m in twilio_standin.accepted}
    assert {(m.status, m.attempts) for m in texts()} == {("sent", 2)} and {m.provider_id for m in texts()} == sids
    [body] = {m["Body"] for m in twilio_standin.to(PHONES[0])}
    assert body.startswith("Omnishop: order NYC-") and "is ready" in body


def test_an_invalid_number_fails_at_once(client, app, store_world, twilio_standin, afternoon):
    twilio_standin.invalid.add(PHONES[0])
    ready_order(client, store_world, phone=PHONES[0], sms_updates=True)
    deliver_due()
    [text] = texts()
    assert text.status == "failed" and text.attempts == 1 and "21211" in text.reason
    assert twilio_standin.requests == 1
    afternoon.advance(days=1)
    deliver_due()
    assert twilio_standin.requests == 1


def test_no_text_without_sms_updates(client, app, store_world, twilio_standin, afternoon):
    ready_order(client, store_world, phone=PHONES[0], sms_updates=False)
    deliver_due()
    assert texts() == [] and twilio_standin.requests == 0


def test_delivery_reports_only_move_forward(client, app, store_world, twilio_standin, afternoon):
    ready_order(client, store_world, phone=PHONES[0], sms_updates=True)
    deliver_due()
    [text] = texts()
    assert twilio_standin.accepted[0]["StatusCallback"] == (
        f"{app.config['PUBLIC_BASE_URL']}{STATUS_PATH}?message_id={text.id}")
    assert report(client, app, text, "delivered").status_code == 204
    assert report(client, app, text, "sent").status_code == 204  # late
    assert report(client, app, text, "undelivered", ErrorCode="30003").status_code == 204
    [text] = texts()
    assert text.status == "delivered" and text.delivered_at == afternoon.now and text.reason is None


def test_an_undelivered_report_fails_the_text_with_the_error_code(client, app, store_world, twilio_standin, afternoon):
    ready_order(client, store_world, phone=PHONES[0], sms_updates=True)
    deliver_due()
    [text] = texts()
    report(client, app, text, "undelivered", ErrorCode="30005")
    [text] = texts()
    assert text.status == "failed" and text.reason == "twilio undelivered 30005"


def test_a_report_that_comes_before_our_own_write_still_counts(client, app, store_world, twilio_standin, afternoon):
    ready_order(client, store_world, phone=PHONES[0], sms_updates=True)
    [text] = texts()

    def delivered_at_once(form, sid):  # Twilio calls back before the SDK call has even returned
        assert report(app.test_client(), app, text, "delivered", sid=sid).status_code == 204

    twilio_standin.on_accept = delivered_at_once
    deliver_due()
    [text] = texts()
    assert text.status == "delivered" and text.provider_id == twilio_standin.accepted[0]["sid"]


def test_unsigned_or_forged_reports_are_refused(client, app, store_world, twilio_standin, afternoon):
    ready_order(client, store_world, phone=PHONES[0], sms_updates=True)
    deliver_due()
    [text] = texts()
    form = {"MessageSid": text.provider_id, "MessageStatus": "failed"}
    unsigned = client.post(f"{STATUS_PATH}?message_id={text.id}", data=form)
    assert unsigned.status_code == 403 and unsigned.get_json()["code"] == "twilio_signature_invalid"
    forged = twilio_signed(client, f"{STATUS_PATH}?message_id={text.id}", form, "not-the-token",
                           app.config["PUBLIC_BASE_URL"])
    assert forged.status_code == 403 and forged.get_json()["code"] == "twilio_signature_invalid"
    other_url = twilio_signed(client, f"{STATUS_PATH}?message_id={text.id}", form, AUTH_TOKEN,
                              "https://elsewhere.example")
    assert other_url.status_code == 403 and other_url.get_json()["code"] == "twilio_signature_invalid"
    assert texts()[0].status == "sent"


def test_a_sweep_stops_at_its_budget_and_gives_back_what_it_did_not_send(client, app, store_world, twilio_standin,
                                                                         afternoon):
    for phone in PHONES:
        ready_order(client, store_world, phone=phone, sms_updates=True)
    twilio_standin.script = ["hang"]
    # The first text alone outlasts the budget (it waits out a 2 s timeout); 1.5 s leaves a loaded machine
    # time to claim and render before that first send, which 0.5 s did not at load 14.
    app.config["SMS_TIMEOUT_SECONDS"] = 2
    assert deliver_due(budget_seconds=1.5)["retrying"] == 1
    assert sorted((m.status, m.attempts) for m in texts()) == [("queued", 0), ("queued", 0), ("queued", 1)]
    deliver_due()
    assert sorted(m.status for m in texts()) == ["queued", "sent", "sent"]  # the two given back went at once
    assert len(twilio_standin.accepted) == 2


def test_a_sweep_takes_at_most_its_limit(client, app, store_world, afternoon):
    for n in range(4):
        ready_order(client, store_world, email=f"limit{n}@example.com")
    assert deliver_due(limit=5) == {"sent": 5}
    assert deliver_due(limit=100) == {"sent": 3}
