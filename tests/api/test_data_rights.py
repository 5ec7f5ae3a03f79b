"""Data rights end to end: a customer downloads everything held about them and has it erased; an admin
does both on a customer's request, recorded; logs never hold a full email, phone or token."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from notifications.consent_models import ConsentRecord
from shop.accounts.models import DataRequest, User
from shop.core import events
from shop.core.extensions import db
from shop.orders.models import Order
from tests.support import factories as f
from tests.support.orders import cart_for, checkout
from tests.support.problems import assert_problem
from tests.support.signals import captured

EMAIL, PHONE, PASSWORD = "dana@example.com", "+14155550142", "dana-password"


def _sign_up_and_verify(client) -> dict:
    with captured(events.email_verification_requested) as sent:
        assert client.post("/api/v1/customers", json={"email": EMAIL, "password": PASSWORD, "name": "Dana Doe",
                                                      "phone": PHONE}).status_code == 202
    token = client.post("/api/v1/auth/tokens", json={"email": EMAIL, "password": PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/me/email-verification", json={"token": sent[0]["token"]},
                       headers=headers).status_code == 200
    return headers


def _picked_up(client, world, headers=None, email=None):
    body = checkout(client, cart_for(client, world["store"], headers=headers, email=email),
                    phone=PHONE, sms_updates=True, headers=headers).get_json()
    oid = body["order"]["id"]
    for step in ("picking", "ready"):
        client.post(f"/api/v1/orders/{oid}/{step}", headers=world["staff"])
    client.post(f"/api/v1/orders/{oid}/handover", json={"pickup_code": body["pickup_code"]}, headers=world["staff"])
    return oid


@pytest.fixture
def dana(client, store_world):
    guest_order = _picked_up(client, store_world, email=EMAIL)  # before the account: linked on verification
    headers = _sign_up_and_verify(client)
    own_order = _picked_up(client, store_world, headers=headers)
    cart_for(client, store_world["store"], lines=(("TEA", 1),), headers=headers, email=None)  # an open cart
    return {"headers": headers, "orders": [guest_order, own_order], **store_world}


def test_a_customer_downloads_everything_held_about_them(client, dana):
    resp = client.get("/api/v1/me/export", headers=dana["headers"])
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    data = resp.get_json()
    assert data["profile"]["email"] == EMAIL and data["profile"]["phone"] == PHONE
    assert sorted(o["id"] for o in data["orders"]) == sorted(dana["orders"])
    assert all(o["lines"] and o["events"] for o in data["orders"])
    assert {c["status"] for c in data["carts"]} == {"converted", "active"}
    assert any(e["type"] == "line_added" for c in data["carts"] for e in c["events"])
    assert {t["type"] for t in data["timeline"]} >= {"account.created", "account.email_verified"}
    assert data["sign_ins"] and data["data_requests"][-1]["kind"] == "export"
    # sections notifications answered with: the order texts said yes to at checkout, the order emails
    assert {(c["channel"], c["state"], c["to"]) for c in data["consent_history"]} == {("sms", "granted", PHONE)}
    assert {m["to"] for m in data["messages"]} >= {EMAIL} and all(m["template"] for m in data["messages"])


def test_an_unverified_email_opens_nobody_elses_guest_history(client, store_world):
    _picked_up(client, store_world, email="victim@example.com")
    client.post("/api/v1/customers", json={"email": "victim@example.com", "password": PASSWORD, "name": "Mallory"})
    token = client.post("/api/v1/auth/tokens", json={"email": "victim@example.com", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    data = client.get("/api/v1/me/export", headers=headers).get_json()
    assert data["orders"] == [] and data["carts"] == []
    assert client.delete("/api/v1/me", json={"password": PASSWORD}, headers=headers).status_code == 200
    assert db.session.scalar(db.select(Order.email)) == "victim@example.com"  # not theirs to erase


def _everything_stored() -> str:
    """Every row of every table as text: what a search of the database could find."""
    rows = []
    for table in db.metadata.sorted_tables:
        rows += [repr(tuple(row)) for row in db.session.execute(text(f"SELECT * FROM {table.name}"))]  # noqa: S608
    return "\n".join(rows)


def test_erasure_removes_personal_data_and_keeps_orders_for_the_books(client, dana, app):
    with captured(events.personal_data_erasure) as erased:
        resp = client.delete("/api/v1/me", json={"password": PASSWORD}, headers=dana["headers"])
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["orders_kept"] == 2

    stored = _everything_stored()
    assert EMAIL not in stored and PHONE not in stored and "Dana Doe" not in stored
    staff = {**dana["staff"], "X-Store-ID": str(dana["store"].id)}
    for query in (EMAIL, PHONE, "Dana"):
        assert client.get("/api/v1/customers", query_string={"q": query}, headers=staff).get_json() == []
    kept = db.session.scalars(db.select(Order).order_by(Order.id)).all()
    assert [(o.id, o.total, o.status, o.phone) for o in kept] == [(i, 2900, "picked_up", None) for i in dana["orders"]]
    assert client.get(f"/api/v1/orders/{kept[0].id}", headers=dana["staff"]).status_code == 200

    assert_problem(client.get("/api/v1/me", headers=dana["headers"]), 401, "unauthorized")  # signed out
    assert client.post("/api/v1/auth/tokens", json={"email": EMAIL, "password": PASSWORD}).status_code == 401
    proof = db.session.scalars(db.select(ConsentRecord)).all()  # the consent events stay, unreadable
    assert proof and all(r.address.startswith("hmac:") for r in proof)
    contact_hash = erased[0]["contact_hash"]
    assert erased[0]["email"] == EMAIL and contact_hash(EMAIL) == contact_hash(" Dana@Example.com ")
    assert EMAIL not in contact_hash(EMAIL)
    record = db.session.scalars(db.select(DataRequest).where(DataRequest.kind == "erasure")).one()
    assert record.on_behalf is False


def test_erasure_asks_for_the_password_and_waits_for_open_orders(client, dana):
    assert_problem(client.delete("/api/v1/me", json={"password": "not-it"}, headers=dana["headers"]), 403,
                   "wrong_password")
    open_order = checkout(client, cart_for(client, dana["store"], headers=dana["headers"], email=None),
                          sms_updates=False, headers=dana["headers"]).get_json()["order"]
    body = assert_problem(client.delete("/api/v1/me", json={"password": PASSWORD}, headers=dana["headers"]), 409,
                          "open_orders")
    assert body["orders"] == [open_order["number"]]
    assert db.session.scalar(db.select(User).where(User.email == EMAIL)).erased_at is None


def test_an_admin_exports_and_erases_on_the_customers_request_and_it_is_recorded(client, dana):
    customer_id = db.session.scalar(db.select(User.id).where(User.email == EMAIL))
    admin = f.user("admin")
    db.session.commit()
    clerk, boss = dana["staff"], f.bearer(admin)
    assert_problem(client.get(f"/api/v1/customers/{customer_id}/export", headers=clerk), 403, "forbidden")
    assert_problem(client.delete(f"/api/v1/customers/{customer_id}", headers=clerk), 403, "forbidden")
    assert client.get(f"/api/v1/customers/{customer_id}/export", headers=boss).get_json()["profile"]["email"] == EMAIL
    assert client.delete(f"/api/v1/customers/{customer_id}", headers=boss).status_code == 200
    records = db.session.scalars(db.select(DataRequest).order_by(DataRequest.id)).all()
    assert [(r.kind, r.done_by_id, r.on_behalf) for r in records] == [("export", admin.id, True),
                                                                     ("erasure", admin.id, True)]
    assert EMAIL not in _everything_stored()
    assert_problem(client.delete(f"/api/v1/customers/{admin.id}", headers=boss), 404, "customer_not_found")


def test_logs_never_hold_a_full_email_phone_or_token(client, store_world, capsys):
    headers = _sign_up_and_verify(client)
    cart_id = cart_for(client, store_world["store"], headers=headers, email=None)
    link = client.post(f"/api/v1/carts/{cart_id}/recovery-links", headers=headers).get_json()["token"]
    client.get(f"/api/v1/carts/recover/{link}")
    body = checkout(client, cart_id, phone=PHONE, sms_updates=True, headers=headers).get_json()
    client.get(f"/api/v1/orders/{body['order']['id']}", headers={"X-Order-Token": body["order_token"]})
    logged = capsys.readouterr().err
    assert "omnishop.access" in logged  # the access log was captured
    for secret in (EMAIL, PHONE, headers["Authorization"].split()[1], link, cart_id, body["order_token"]):
        assert secret not in logged
