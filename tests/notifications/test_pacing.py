"""Quiet hours for texts (local to the recipient, across zones and DST changes) and marketing caps."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from notifications import consent
from notifications.delivery import deliver_due
from notifications.outbox import enqueue
from notifications.preview import DEMO_ORDER
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.messages import outbox

NEW_YORK, PARIS, LOS_ANGELES = "America/New_York", "Europe/Paris", "America/Los_Angeles"


def order_text(n: int, store_zone: str, recipient_zone: str | None = None, phone: str = "+14155550123"):
    return enqueue(template="order_ready", channel="sms", purpose="transactional", to=phone,
                   dedupe_key=f"order_ready:{n}:0:sms", context={**DEMO_ORDER, "store_timezone": store_zone},
                   order_id=n, timezone=recipient_zone)


def local(zone: str, *args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=ZoneInfo(zone))


def test_the_same_moment_is_quiet_in_new_york_and_paris_but_not_in_los_angeles(app, frozen_clock):
    now = frozen_clock.set(local(NEW_YORK, 2026, 11, 24, 22, 30))  # 04:30 in Paris, 19:30 in Los Angeles
    order_text(1, NEW_YORK)
    order_text(2, NEW_YORK, recipient_zone=PARIS)  # the recipient's own zone wins over the store's
    order_text(3, LOS_ANGELES)
    db.session.commit()
    assert deliver_due() == {"held": 2, "sent": 1}
    by_order = {m.order_id: m for m in outbox()}
    assert by_order[3].status == "sent"
    assert (by_order[1].status, by_order[1].reason) == ("held", "quiet_hours")
    assert by_order[1].due_at == local(NEW_YORK, 2026, 11, 25, 8, 0)
    assert by_order[2].due_at == local(PARIS, 2026, 11, 25, 8, 0) == now + dt.timedelta(hours=3, minutes=30)

    frozen_clock.set(local(PARIS, 2026, 11, 25, 8, 0))
    assert deliver_due() == {"sent": 1}
    frozen_clock.set(local(NEW_YORK, 2026, 11, 25, 8, 0))
    assert deliver_due() == {"sent": 1}
    assert {m.status for m in outbox()} == {"sent"}


@pytest.mark.parametrize("evening, utc_morning", [
    # The night clocks go forward (March 8, 2026): 08:00 EDT is 12:00 UTC, not 13:00.
    (local(NEW_YORK, 2026, 3, 7, 23, 0), dt.datetime(2026, 3, 8, 12, 0, tzinfo=dt.UTC)),
    # The night clocks go back (November 1, 2026): 08:00 EST is 13:00 UTC, not 12:00.
    (local(NEW_YORK, 2026, 10, 31, 22, 0), dt.datetime(2026, 11, 1, 13, 0, tzinfo=dt.UTC)),
])
def test_a_text_held_over_a_dst_change_goes_at_eight_local(app, frozen_clock, evening, utc_morning):
    frozen_clock.set(evening)
    order_text(1, NEW_YORK)
    db.session.commit()
    deliver_due()
    [text] = outbox()
    assert text.status == "held" and text.due_at == utc_morning
    frozen_clock.set(utc_morning - dt.timedelta(minutes=1))
    assert deliver_due() == {}
    frozen_clock.set(utc_morning)
    assert deliver_due() == {"sent": 1}


def test_marketing_texts_keep_narrower_hours_than_order_texts(app, frozen_clock):
    frozen_clock.set(local(NEW_YORK, 2026, 11, 24, 20, 30))
    user = f.user("customer")
    consent.record("sms", "marketing", "granted", "web", "Offers by text", customer_id=user.id)
    enqueue(template="promotion", channel="sms", purpose="marketing", to="+14155550199", customer_id=user.id,
            dedupe_key="promo:1:0:sms", context={"headline": "Tea", "body": "", "cta_label": "", "cta_url": ""},
            timezone=NEW_YORK)
    order_text(1, NEW_YORK)
    db.session.commit()
    deliver_due()
    promo, order = outbox(channel="sms")
    assert order.status == "sent"
    assert promo.status == "held" and promo.due_at == local(NEW_YORK, 2026, 11, 25, 9, 0)


def test_email_has_no_quiet_hours(app, frozen_clock):
    frozen_clock.set(local(NEW_YORK, 2026, 11, 24, 3, 0))
    enqueue(template="order_ready", channel="email", purpose="transactional", to="night@example.com",
            dedupe_key="order_ready:1:0:email", context={**DEMO_ORDER, "store_timezone": NEW_YORK})
    db.session.commit()
    assert deliver_due() == {"sent": 1}


def promo(user, n: int, channel: str = "email", to: str | None = None):
    return enqueue(template="promotion", channel=channel, purpose="marketing",
                   to=to or (user.email if channel == "email" else "+14155550177"),
                   dedupe_key=f"promo:{n}:0:{channel}", customer_id=user.id if user else None,
                   context={"headline": f"Offer {n}", "body": "", "cta_label": "", "cta_url": ""}, timezone=NEW_YORK)


@pytest.mark.parametrize("channel, cap", [("email", dt.timedelta(hours=16)), ("sms", dt.timedelta(hours=24))])
def test_marketing_is_capped_per_customer_and_channel(app, frozen_clock, channel, cap):
    start = frozen_clock.set(local(NEW_YORK, 2026, 11, 24, 10, 0))
    user = f.user("customer")
    consent.record(channel, "marketing", "granted", "web", "Offers", customer_id=user.id)
    promo(user, 1, channel)
    promo(user, 2, channel)
    db.session.commit()
    deliver_due()
    first, second = outbox(template="promotion")
    assert first.status == "sent"
    assert (second.status, second.reason, second.due_at) == ("held", "marketing_cap", start + cap)
    frozen_clock.set(start + cap - dt.timedelta(minutes=1))
    assert deliver_due() == {}
    frozen_clock.set(start + cap)
    deliver_due()
    assert outbox(template="promotion")[1].status == "sent"


def test_caps_leave_order_messages_and_other_customers_alone(app, frozen_clock):
    frozen_clock.set(local(NEW_YORK, 2026, 11, 24, 10, 0))
    one, two = f.user("customer"), f.user("customer")
    for user in (one, two):
        consent.record("email", "marketing", "granted", "web", "Offers", customer_id=user.id)
    promo(one, 1)
    promo(two, 2)
    for n in range(3):
        enqueue(template="order_ready", channel="email", purpose="transactional", to=one.email, customer_id=one.id,
                dedupe_key=f"order_ready:{n}:0:email", context={**DEMO_ORDER, "store_timezone": NEW_YORK})
    db.session.commit()
    deliver_due()
    assert {m.status for m in outbox(template="promotion")} == {"sent"}
    assert {m.status for m in outbox(template="order_ready")} == {"sent"}
