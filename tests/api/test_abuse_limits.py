"""Abuse limits: checkout, coupon guesses, pickup-code guesses, webhooks, body size; 429 with Retry-After,
counted once for every worker when the counters live in Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from flask_limiter import ApplicationLimit

from shop.core.extensions import db, limiter
from tests.support.orders import cart_for, checkout, post_event
from tests.support.problems import assert_problem

ROOT = Path(__file__).resolve().parents[2]


def limited(resp) -> None:
    assert_problem(resp, 429, "rate_limited")
    assert int(resp.headers["Retry-After"]) > 0


def test_checkout_is_limited_per_caller(client, store_world, monkeypatch):
    monkeypatch.setitem(client.application.config, "CHECKOUT_RATE_LIMIT", "2/minute")
    answers = [checkout(client, cart_for(client, store_world["store"], lines=(("TEA", 1),))) for _ in range(3)]
    assert [a.status_code for a in answers[:2]] == [201, 201]
    limited(answers[2])


def test_an_app_wide_limit_is_still_checked_before_each_request(client, store_world, monkeypatch):
    """An operation's own limit is checked by its decorator; one set for the whole app (a RATELIMIT_*
    setting) by the hook before every request, which runs only when such a limit exists."""
    carts = [cart_for(client, store_world["store"], lines=(("TEA", 1),)) for _ in range(3)]
    monkeypatch.setattr(limiter.limit_manager, "_application_limits", [ApplicationLimit("2/minute").bind(limiter)])
    answers = [checkout(client, cart_id) for cart_id in carts]
    assert [a.status_code for a in answers[:2]] == [201, 201]  # checkout's own limit is far above 2
    limited(answers[2])


def test_wrong_coupon_codes_are_limited_and_right_ones_never(client, store_world, monkeypatch):
    monkeypatch.setitem(client.application.config, "COUPON_RATE_LIMIT", "3/minute")
    from shop.carts import coupons

    coupons.create({"code": "RIGHT10", "kind": "percent", "value": 10})
    db.session.commit()
    cart_id = cart_for(client, store_world["store"])
    url = f"/api/v1/carts/{cart_id}/coupons"
    assert [client.post(url, json={"code": "RIGHT10"}).status_code for _ in range(5)] == [200] * 5
    guesses = [client.post(url, json={"code": f"GUESS{i}"}) for i in range(3)]
    assert [g.get_json()["code"] for g in guesses] == ["coupon_unknown"] * 3
    limited(client.post(url, json={"code": "GUESS9"}))
    limited(client.post(url, json={"code": "RIGHT10"}))  # guessing stops, the right code waits too


def test_wrong_pickup_codes_are_limited_per_clerk_across_orders(client, store_world, monkeypatch):
    monkeypatch.setitem(client.application.config, "PICKUP_CODE_RATE_LIMIT", "3/minute")
    orders = []
    for _ in range(2):
        body = checkout(client, cart_for(client, store_world["store"], lines=(("TEA", 1),))).get_json()
        oid = body["order"]["id"]
        for step in ("picking", "ready"):
            client.post(f"/api/v1/orders/{oid}/{step}", headers=store_world["staff"])
        orders.append((oid, body["pickup_code"]))
    wrong = [client.post(f"/api/v1/orders/{orders[i % 2][0]}/handover", json={"pickup_code": "000000"},
                         headers=store_world["staff"]) for i in range(3)]
    assert [w.get_json()["code"] for w in wrong] == ["wrong_pickup_code"] * 3  # no order reached its own lock
    limited(client.post(f"/api/v1/orders/{orders[1][0]}/handover", json={"pickup_code": "111111"},
                        headers=store_world["staff"]))


def test_webhooks_with_bad_signatures_are_limited_per_address(client, monkeypatch):
    monkeypatch.setitem(client.application.config, "WEBHOOK_RATE_LIMIT", "3/minute")
    monkeypatch.setitem(client.application.config, "STRIPE_WEBHOOK_SECRET", "whsec_real")
    bad = [post_event(client, "payment_intent.canceled", {"id": "pi_x"}, secret="whsec_forged") for _ in range(3)]
    assert [b.status_code for b in bad] == [400, 400, 400]
    limited(post_event(client, "payment_intent.canceled", {"id": "pi_x"}, secret="whsec_forged"))


def test_a_body_over_the_size_limit_is_a_413(client, monkeypatch):
    monkeypatch.setitem(client.application.config, "MAX_CONTENT_LENGTH", 1000)
    resp = client.post("/api/v1/customers", json={"email": "big@example.com", "password": "x" * 2000, "name": "N"})
    assert_problem(resp, 413, "payload_too_large")


# --- shared by every worker ------------------------------------------------------------------------

REDIS_URI = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
_WORKER = """
import json, sys
from tests.support.app import make_app
app = make_app(sys.argv[1], RATELIMIT_STORAGE_URI=sys.argv[2], RATELIMIT_KEY_PREFIX=sys.argv[3])
client = app.test_client()
print(json.dumps([client.post("/api/v1/auth/tokens", json={"email": "ann@example.com", "password": "wrong"}).status_code
                  for _ in range(int(sys.argv[4]))]))
"""


def _worker(database_url: str, storage: str, prefix: str, attempts: int) -> list[int]:
    """One more process, like a gunicorn worker: its own app and limiter; its sign-in answers."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", _WORKER, database_url, storage, prefix, str(attempts)],
                         capture_output=True, text=True, check=True, env=env, cwd=ROOT, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URI, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def test_two_workers_share_the_per_account_sign_in_limit_through_redis(app, database_url):
    if not _redis_answers():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and no Redis at {REDIS_URI}")
        pytest.skip(f"no Redis at {REDIS_URI}")
    prefix = f"omnishop-test-{uuid.uuid4().hex}"
    first = _worker(database_url, REDIS_URI, prefix, 3)
    second = _worker(database_url, REDIS_URI, prefix, 3)
    assert first == [401, 401, 401]
    assert second == [401, 401, 429]  # the documented 5 a minute, counted across both workers

    apart = [_worker(database_url, "memory://", prefix, 3) for _ in range(2)]
    assert apart == [[401, 401, 401]] * 2  # what `make run` did before: 6 tries and counting
