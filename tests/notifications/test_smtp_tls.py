"""Mail over TLS to a real SMTP server (aiosmtpd) with a certificate from a CA made in the test
(trustme): implicit TLS and STARTTLS deliver; a certificate the app cannot verify delivers nothing,
and the message is retried once the server shows a good one, never lost and never sent in clear."""

from __future__ import annotations

import pytest

from notifications.delivery import deliver_due
from notifications.outbox import enqueue
from shop.core.extensions import db
from tests.support.messages import outbox

CONTEXT = {"headline": "Hello over TLS", "body": "Six new blends.", "cta_label": "See them",
           "cta_url": "https://shop.example.com/teas"}


def _queue(to: str = "tls@example.com"):
    message = enqueue(template="promotion", channel="email", purpose="transactional", to=to,
                      dedupe_key=f"tls:{to}:0:email", context=CONTEXT, locale="en")
    db.session.commit()
    return message


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_mail_goes_over_tls_verified_against_the_configured_ca(app, tls_smtp, security):
    server = tls_smtp(security)
    _queue()
    assert deliver_due()["sent"] == 1
    [mail] = server.to("tls@example.com")
    assert mail["Subject"] == CONTEXT["headline"]
    assert [m.status for m in outbox(to_address="tls@example.com")] == ["sent"]


@pytest.mark.parametrize("security", ["ssl", "starttls"])
@pytest.mark.parametrize("trusted, name", [(False, "127.0.0.1"), (True, "mail.example.com")],
                         ids=["unknown-ca", "wrong-name"])
def test_a_certificate_that_does_not_verify_sends_nothing_and_is_retried(app, tls_smtp, frozen_clock, security,
                                                                         trusted, name):
    bad = tls_smtp(security, trusted=trusted, name=name)
    _queue()
    assert deliver_due() == {"retrying": 1}
    assert bad.received == []
    [row] = outbox(to_address="tls@example.com")
    assert row.status == "queued" and row.attempts == 1 and "certificate" in row.reason
    bad.stop()

    good = tls_smtp(security)  # the certificate fixed
    frozen_clock.advance(hours=1)
    assert deliver_due()["sent"] == 1
    assert len(good.to("tls@example.com")) == 1
    assert outbox(to_address="tls@example.com")[0].status == "sent"


def test_starttls_refused_by_a_server_that_does_not_offer_it_is_retried(app, smtp_server, frozen_clock):
    app.config.update(MAIL_SMTP_SECURITY="starttls")  # the plain test server offers no STARTTLS
    _queue()
    assert deliver_due()["retrying"] == 1
    assert smtp_server.received == []
    [row] = outbox(to_address="tls@example.com")
    assert row.status == "queued" and row.reason.startswith("smtp unavailable") and row.due_at > frozen_clock.now


def test_a_ca_file_that_does_not_exist_stops_the_app_at_start():
    from notifications.senders import check_config
    from shop.config import load
    config = load()
    config["MAIL_SMTP_CA_FILE"] = "/nonexistent/ca.pem"
    with pytest.raises(RuntimeError, match="MAIL_SMTP_CA_FILE"):
        check_config(config)
