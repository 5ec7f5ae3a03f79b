"""Sign-up, tokens (hashed, expiring, revocable), roles, store scoping and the token rate limit."""

from __future__ import annotations

import datetime as dt

import pytest

from shop.accounts import auth
from shop.accounts.models import ApiToken, User, user_stores
from shop.core import events
from shop.core.clock import clock
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.problems import assert_problem
from tests.support.signals import captured


def sign_up(client, email="ann@example.com", password="correct-horse", **extra):
    body = {"email": email, "password": password, "name": "Ann", **extra}
    return client.post("/api/v1/customers", json=body)


def sign_in(client, email="ann@example.com", password="correct-horse"):
    return client.post("/api/v1/auth/tokens", json={"email": email, "password": password})


def test_customer_signs_up_signs_in_and_sees_profile(client):
    resp = sign_up(client, email="Ann@Example.com", phone="+1 415 555 0123")
    assert resp.status_code == 202
    assert resp.get_json()["email"] == "ann@example.com"
    assert resp.get_json()["status"] == "verification_sent"

    tok = sign_in(client)
    assert tok.status_code == 201
    body = tok.get_json()
    ann = db.session.scalar(db.select(User))
    assert body["user"] == {"id": ann.id, "role": "customer", "store_ids": []}
    expires = dt.datetime.fromisoformat(body["expires_at"])
    lifetime = dt.timedelta(seconds=client.application.config["CUSTOMER_TOKEN_TTL_SECONDS"])
    assert lifetime - dt.timedelta(minutes=1) < expires - dt.datetime.now(dt.UTC) <= lifetime

    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.get_json()["name"] == "Ann"
    assert me.get_json()["phone"] == "+14155550123" and me.get_json()["email_verified"] is False


def test_password_and_token_are_never_stored_in_clear(client):
    sign_up(client)
    plain = sign_in(client).get_json()["token"]
    user = db.session.scalar(db.select(User))
    assert "correct-horse" not in user.password_hash
    stored = db.session.scalar(db.select(ApiToken))
    assert stored.token_hash != plain and plain not in stored.token_hash


def test_sign_up_answers_the_same_for_a_taken_email_and_changes_nothing(client):
    """Found from outside: a 409 for a taken email told anyone who shops here."""
    first = sign_up(client)
    with captured(events.sign_up_for_existing_account) as tried:
        again = sign_up(client, email="ANN@example.com", password="another-password")
    assert (again.status_code, again.get_json()) == (first.status_code, first.get_json())
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1
    assert sign_in(client).status_code == 201  # the owner's password still works
    assert sign_in(client, password="another-password").status_code == 401
    assert [kw["email"] for kw in tried] == ["ann@example.com"]  # the owner can be told


def test_bad_phone_and_short_password_are_refused(client):
    body = assert_problem(sign_up(client, phone="12", password="short"), 422, "validation_error")
    assert set(body["errors"]) == {"phone", "password"}
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_wrong_password_and_unknown_email_look_the_same(client):
    sign_up(client)
    a = assert_problem(sign_in(client, password="wrong-one"), 401, "invalid_credentials")
    b = assert_problem(sign_in(client, email="nobody@example.com"), 401, "invalid_credentials")
    assert a["detail"] == b["detail"]


def test_protected_endpoint_without_token_is_401_with_www_authenticate(client):
    resp = client.get("/api/v1/me")
    assert_problem(resp, 401, "unauthorized")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    garbage = client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert_problem(garbage, 401, "unauthorized")


def test_revoked_token_stops_working(client):
    sign_up(client)
    headers = {"Authorization": f"Bearer {sign_in(client).get_json()['token']}"}
    assert client.delete("/api/v1/auth/tokens/current", headers=headers).status_code == 204
    assert_problem(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_expired_token_stops_working(client):
    u = f.user()
    headers = f.bearer(u)
    token = db.session.scalar(db.select(ApiToken))
    token.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db.session.commit()
    assert_problem(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_a_deactivated_account_or_a_removed_store_takes_effect_on_the_next_request(client):
    s = f.store()
    f.product(sku="GONE-1")
    staff = f.user("staff", [s])
    headers = f.bearer(staff)
    db.session.commit()
    stock_url = f"/api/v1/stores/{s.id}/stock?skus=GONE-1"
    assert "on_hand" in client.get(stock_url, headers=headers).get_json()[0]  # staff figures
    db.session.execute(user_stores.delete().where(user_stores.c.user_id == staff.id))
    db.session.commit()
    assert "on_hand" not in client.get(stock_url, headers=headers).get_json()[0]
    assert_problem(client.post(f"/api/v1/stores/{s.id}/reservations", headers=headers,
                               json={"lines": [{"sku": "GONE-1", "quantity": 1}]}), 403, "wrong_store")
    staff.active = False
    db.session.commit()
    assert_problem(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


@pytest.mark.parametrize("role, ttl_key", [("staff", "STAFF_TOKEN_TTL_SECONDS"),
                                           ("customer", "CUSTOMER_TOKEN_TTL_SECONDS")])
def test_a_token_works_for_its_lifetime_and_not_a_second_longer(client, app, monkeypatch, role, ttl_key):
    issued = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: issued)
    headers = f.bearer(f.user(role, [f.store()] if role == "staff" else ()))
    lifetime = dt.timedelta(seconds=app.config[ttl_key])
    monkeypatch.setattr(clock, "now", lambda: issued + lifetime - dt.timedelta(seconds=1))
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    monkeypatch.setattr(clock, "now", lambda: issued + lifetime)
    assert_problem(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_customer_cannot_use_staff_lookup_but_staff_can(client):
    s = f.store()
    customer = f.user(email="carl@example.com")
    customer.phone = "+14155550199"
    staff = f.user("staff", [s])
    db.session.commit()
    assert_problem(
        client.get("/api/v1/customers?q=carl", headers=f.bearer(customer)), 403, "forbidden"
    )
    found = client.get("/api/v1/customers?q=0199", headers=f.bearer(staff))
    assert found.status_code == 200
    assert [c["email"] for c in found.get_json()] == ["carl@example.com"]
    # LIKE wildcards in the query are literal characters, not patterns.
    none = client.get("/api/v1/customers?q=%25%25", headers=f.bearer(staff))
    assert none.get_json() == []


def test_staff_are_scoped_to_their_stores(app):
    a, b = f.store(), f.store()
    staff = f.user("staff", [a])
    admin = f.user("admin")
    marketing = f.user("marketing")
    assert auth.is_staff_of(staff, a.id) and not auth.is_staff_of(staff, b.id)
    assert auth.is_staff_of(admin, b.id)
    assert not auth.is_staff_of(marketing, a.id)


def test_profile_patch_validates_and_changes_only_own_profile(client):
    u = f.user()
    headers = f.bearer(u)
    resp = client.patch("/api/v1/me", json={"phone": "+442071838750"}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["phone"] == "+442071838750"
    assert_problem(client.patch("/api/v1/me", json={"role": "admin"}, headers=headers), 422,
                   "validation_error")
    assert client.get("/api/v1/me", headers=headers).get_json()["role"] == "customer"


def test_email_verification_with_signed_token(client, app):
    from shop.core import events

    with captured(events.email_verification_requested) as sent:
        sign_up(client)
    headers = {"Authorization": f"Bearer {sign_in(client).get_json()['token']}"}
    bad = client.post("/api/v1/me/email-verification", json={"token": sent[0]["token"] + "x"},
                      headers=headers)
    assert_problem(bad, 422, "token_invalid")
    ok = client.post("/api/v1/me/email-verification", json={"token": sent[0]["token"]},
                     headers=headers)
    assert ok.status_code == 200 and ok.get_json()["email_verified"] is True


def test_token_creation_is_rate_limited_per_account(client):
    sign_up(client)
    statuses = [sign_in(client, password="wrong-one").status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    resp = sign_in(client)  # even the right password waits now
    assert_problem(resp, 429, "rate_limited")
    assert int(resp.headers["Retry-After"]) > 0


def test_token_creation_is_rate_limited_per_address(client, app):
    app.config["TOKEN_RATE_LIMIT_PER_ADDRESS"] = "3/minute"
    try:
        codes = [sign_in(client, email=f"x{i}@example.com").status_code for i in range(4)]
    finally:
        app.config["TOKEN_RATE_LIMIT_PER_ADDRESS"] = "20/minute"
    assert codes == [401, 401, 401, 429]


def test_sign_up_writes_the_verification_email_to_the_development_outbox(client, app):
    import email
    import email.policy
    from pathlib import Path

    from notifications.delivery import deliver_due

    folder = Path(app.config["DEV_OUTBOX_DIR"])
    before = set(folder.glob("*.eml")) if folder.exists() else set()
    assert sign_up(client, email="dora@example.com").status_code == 202
    assert sign_up(client, email="dora@example.com").status_code == 202  # taken: no second verification
    deliver_due()
    new = sorted(set(folder.glob("*.eml")) - before)
    assert len(new) == 1
    message = email.message_from_bytes(new[0].read_bytes(), policy=email.policy.default)
    assert message["To"] == "dora@example.com"
    text = message.get_body(("plain",)).get_content()
    token = next(line.strip() for line in text.splitlines() if line.strip().count(".") == 2)
    headers = {"Authorization": f"Bearer {sign_in(client, email='dora@example.com').get_json()['token']}"}
    verified = client.post("/api/v1/me/email-verification", json={"token": token}, headers=headers)
    assert verified.get_json()["email_verified"] is True
