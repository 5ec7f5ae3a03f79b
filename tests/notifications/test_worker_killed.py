"""A delivery worker killed between the send and its status write: the guarantee is at least once.

The row stays `sending`; no sweep touches it while its lease runs (the worker might still be
sending); after the lease it is sent again. Mail carries the same Message-ID both times (derived
from the dedupe key), so a receiver that deduplicates on it shows one; Twilio has no such key, so
the text really arrives twice. docs/notifications.md states this.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
from zoneinfo import ZoneInfo

from notifications.delivery import deliver_due
from notifications.outbox import enqueue
from notifications.preview import DEMO_ORDER
from shop.core.extensions import db
from tests.support.messages import outbox, start_worker

DAYTIME_ZONES = ["America/New_York", "Europe/Paris", "Asia/Tokyo", "America/Los_Angeles", "Asia/Kolkata",
                 "Australia/Sydney", "America/Sao_Paulo"]


def daytime_zone() -> str:
    """A zone where it is now between 10:00 and 19:00, so the real-time worker meets no quiet hours."""
    now = dt.datetime.now(dt.UTC)
    return next(z for z in DAYTIME_ZONES if 10 <= now.astimezone(ZoneInfo(z)).hour < 19)


def killer():
    """on_data / on_accept hook that SIGKILLs the worker once its pid is known."""
    ready, holder = threading.Event(), {}

    def kill(*_):
        ready.wait(30)
        os.kill(holder["proc"].pid, signal.SIGKILL)

    def arm(proc):
        holder["proc"] = proc
        ready.set()
        return proc

    return kill, arm


def run_until_killed(app, arm):
    proc = arm(start_worker(app))
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def test_a_mail_is_sent_again_after_the_lease_with_the_same_message_id(app, smtp_server, frozen_clock):
    enqueue(template="order_ready", channel="email", purpose="transactional", to="kill@example.com",
            dedupe_key="order_ready:5:0:email", context=DEMO_ORDER)
    db.session.commit()
    kill, arm = killer()
    smtp_server.on_data = kill
    run_until_killed(app, arm)
    smtp_server.on_data = None
    [row] = outbox()
    assert (row.status, row.attempts, len(smtp_server.received)) == ("sending", 1, 1)

    lease = dt.timedelta(seconds=app.config["OUTBOX_SENDING_LEASE_SECONDS"])
    frozen_clock.set(row.updated_at + lease - dt.timedelta(seconds=1))
    assert deliver_due() == {}  # within the lease: the worker might still be sending
    frozen_clock.set(row.updated_at + lease)
    assert deliver_due() == {"sent": 1}
    first, second = smtp_server.received
    assert first["Message-ID"] == second["Message-ID"] == outbox()[0].provider_id
    assert (outbox()[0].status, outbox()[0].attempts) == ("sent", 2)


def test_a_text_is_sent_again_after_the_lease_and_arrives_twice(app, twilio_standin, frozen_clock):
    enqueue(template="order_ready", channel="sms", purpose="transactional", to="+14155550142",
            dedupe_key="order_ready:6:0:sms", context={**DEMO_ORDER, "sms_updates": True},
            timezone=daytime_zone())
    db.session.commit()
    kill, arm = killer()
    twilio_standin.on_accept = kill
    run_until_killed(app, arm)
    twilio_standin.on_accept = None
    [row] = outbox()
    assert row.status == "sending" and len(twilio_standin.accepted) == 1

    frozen_clock.set(row.updated_at + dt.timedelta(seconds=app.config["OUTBOX_SENDING_LEASE_SECONDS"]))
    assert deliver_due() == {"sent": 1}
    first, second = twilio_standin.accepted
    assert first["Body"] == second["Body"] and first["To"] == second["To"]
    assert outbox()[0].provider_id == second["sid"]
