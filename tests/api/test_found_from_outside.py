"""Holes an attacker found from outside (replays, counter staff, secrets, odd bodies), each closed."""

from __future__ import annotations

import datetime as dt

import jsonschema_rs
import pytest

from shop.accounts.models import ApiToken, User
from shop.carts.models import Cart
from shop.core.extensions import db
from shop.orders.models import Order
from tests.support import factories as f
from tests.support.orders import cart_for, checkout
from tests.support.problems import assert_problem
from tests.support.spec_coverage import current_spec

# --- An Idempotency-Key replay goes to the same caller only -----------------------------------


@pytest.fixture
def two_customers(store_world):
    ann, bob = f.user(email="ann@example.com"), f.user(email="bob@example.com")
    db.session.commit()
    return {**store_world, "ann": f.bearer(ann), "bob": f.bearer(bob)}


def test_a_checkout_key_replays_only_to_the_caller_who_sent_it(client, two_customers):
    w = two_customers
    cart_id = cart_for(client, w["store"], headers=w["ann"], email=None)
    first = checkout(client, cart_id, key="k-1", headers=w["ann"])
    assert first.status_code == 201

    anonymous = checkout(client, cart_id, key="k-1")
    assert_problem(anonymous, 401, "sign_in_required")
    assert "pickup_code" not in anonymous.get_json() and "order_token" not in anonymous.get_json()
    assert_problem(checkout(client, cart_id, key="k-1", headers=w["bob"]), 404, "cart_not_found")
    other_counter = {**w["other_staff"], "X-Store-ID": str(_other_store_id(w))}
    assert_problem(checkout(client, cart_id, key="k-1", headers=other_counter), 404, "cart_not_found")

    again = checkout(client, cart_id, key="k-1", headers=w["ann"])
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert db.session.scalar(db.select(db.func.count(Order.id))) == 1


def _other_store_id(world) -> int:
    from stores.models import Store

    return db.session.scalar(db.select(Store.id).where(Store.code == "CHI"))


def _picked_up(client, world) -> dict:
    body = checkout(client, cart_for(client, world["store"])).get_json()
    oid = body["order"]["id"]
    for step in ("picking", "ready"):
        assert client.post(f"/api/v1/orders/{oid}/{step}", headers=world["staff"]).status_code == 200
    resp = client.post(f"/api/v1/orders/{oid}/handover", json={"pickup_code": body["pickup_code"]},
                       headers=world["staff"])
    assert resp.status_code == 200
    return body["order"]


def test_a_refund_key_replays_only_to_the_caller_who_sent_it(client, store_world):
    order = _picked_up(client, store_world)
    url = f"/api/v1/orders/{order['id']}/refunds"
    refund = {"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}], "restock": False}
    first = client.post(url, json=refund, headers={**store_world["staff"], "Idempotency-Key": "r-1"})
    assert first.status_code == 201

    replay = client.post(url, json=refund, headers={**store_world["other_staff"], "Idempotency-Key": "r-1"})
    assert_problem(replay, 404, "order_not_found")
    anonymous = client.post(url, json=refund, headers={"Idempotency-Key": "r-1"})
    assert_problem(anonymous, 401, "unauthorized")
    mine = client.post(url, json=refund, headers={**store_world["staff"], "Idempotency-Key": "r-1"})
    assert mine.status_code == 201 and mine.get_json() == first.get_json()


# --- Staff act on a customer's cart only at its pickup store, never on its contact details ----


def test_staff_act_on_a_customers_cart_only_at_its_pickup_store(client, two_customers):
    w = two_customers
    cart_id = cart_for(client, w["store"], headers=w["ann"], email=None)
    here = {**w["staff"], "X-Store-ID": str(w["store"].id)}
    elsewhere = {**w["other_staff"], "X-Store-ID": str(_other_store_id(w))}
    url = f"/api/v1/carts/{cart_id}"

    assert_problem(client.patch(url, json={"email": "attacker@example.com"}, headers=elsewhere), 404,
                   "cart_not_found")
    assert_problem(client.post(f"{url}/lines", json={"sku": "TEA", "quantity": 1}, headers=elsewhere), 404,
                   "cart_not_found")
    assert_problem(client.get(url, headers=elsewhere), 404, "cart_not_found")
    assert_problem(client.get(f"/api/v1/customers/{_id_of('ann@example.com')}/cart", headers=elsewhere), 404,
                   "cart_not_found")

    assert_problem(client.patch(url, json={"email": "attacker@example.com"}, headers=here), 403, "forbidden")
    assert_problem(client.patch(url, json={"phone": "+14155550199"}, headers=here), 403, "forbidden")
    assert db.session.get(Cart, cart_id).email == "ann@example.com"
    assert client.post(f"{url}/lines", json={"sku": "TEA", "quantity": 1}, headers=here).status_code == 200


def _id_of(email: str) -> int:
    return db.session.scalar(db.select(User.id).where(User.email == email))


# --- The app refuses a default or short SECRET_KEY outside development -------------------------


@pytest.mark.parametrize("secret", [None, "dev-only-change-me", "short-but-not-empty-31-bytes-xx"])
def test_a_default_or_short_secret_key_is_refused_outside_development(monkeypatch, secret, database_url):
    from shop.app import create_app
    from shop.core.security import InsecureConfiguration

    monkeypatch.setenv("OMNISHOP_ENV", "production")
    if secret is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(InsecureConfiguration, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    assert create_app({"SQLALCHEMY_DATABASE_URI": database_url}).config["SECRET_KEY"] == "x" * 32


def test_development_generates_and_keeps_its_own_secret(monkeypatch, tmp_path, database_url):
    from shop import config as settings
    from shop.app import create_app

    monkeypatch.setenv("OMNISHOP_ENV", "development")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(settings, "INSTANCE_DIR", tmp_path)
    first = create_app({"SQLALCHEMY_DATABASE_URI": database_url}).config["SECRET_KEY"]
    second = create_app({"SQLALCHEMY_DATABASE_URI": database_url}).config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / settings.DEV_SECRET_FILE).stat().st_mode & 0o077 == 0


# --- Bodies no endpoint can read: too deep, not JSON ---------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/auth/tokens", "/api/v1/customers", "/api/v1/carts"])
def test_deeply_nested_json_is_a_400_not_a_500(client, path):
    for body in ("[" * 100_000 + "]" * 100_000, '{"a":' * 40 + "1" + "}" * 40):
        assert_problem(client.post(path, data=body, content_type="application/json"), 400, "malformed_request")


def test_brackets_inside_strings_do_not_count_as_depth(client):
    resp = client.post("/api/v1/auth/tokens", json={"email": "[" * 200, "password": "{" * 200})
    assert_problem(resp, 401, "invalid_credentials")


def test_a_body_that_is_not_json_is_a_415_and_creates_nothing(client):
    for content_type, body in [("text/plain", '{"email": "a@example.com"}'),
                               ("application/x-www-form-urlencoded", "email=a%40example.com&password=x")]:
        resp = client.post("/api/v1/customers", data=body, content_type=content_type)
        assert_problem(resp, 415, "unsupported_media_type")
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


# --- A validation error is a 422 whatever its shape; a reply matches its own schema -------------


def test_list_indexes_beside_field_names_in_errors_are_a_422(client):
    admin = f.user("admin")
    db.session.commit()
    store = {"code": "ODD", "name": "Odd", "latitude": 1, "longitude": 181, "timezone": "UTC",
             "hours": [{"weekday": 1, "opens": "09:00"}, {"weekday": 1, "opens": "09:00", "closes": "17:00"}]}
    body = assert_problem(client.post("/api/v1/stores", json=store, headers=f.bearer(admin)), 422,
                          "validation_error")
    assert set(body["errors"]) == {"longitude", "hours"}
    assert set(body["errors"]["hours"]) == {"0", "_schema"}


def _schema_of(operation_path: str, method: str, status: str) -> dict:
    spec = current_spec()
    schema = spec["paths"][operation_path][method]["responses"][status]["content"]["application/json"]["schema"]
    return {**schema, "components": spec["components"]} if "$ref" in schema else schema


def test_the_profile_of_an_account_made_by_create_user_matches_its_schema(client):
    clerk = f.user("staff", [f.store()])
    db.session.commit()
    resp = client.patch("/api/v1/me", json={"phone": "+14155550123"}, headers=f.bearer(clerk))
    assert resp.status_code == 200 and resp.get_json()["name"] == ""
    schema = _schema_of("/api/v1/me", "patch", "200")
    ref = schema.get("$ref", "")
    resolved = current_spec()["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema
    jsonschema_rs.validate(resolved, resp.get_json())


# --- Smaller ones ---------------------------------------------------------------------------------


def test_sign_up_is_rate_limited_per_address(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "SIGNUP_RATE_LIMIT", "3/minute")  # the session's app: put back after
    body = {"password": "long-enough-pw", "name": "N"}
    codes = [client.post("/api/v1/customers", json={**body, "email": f"n{i}@example.com"}) for i in range(4)]
    assert [c.status_code for c in codes] == [202, 202, 202, 429]
    assert_problem(codes[3], 429, "rate_limited")
    assert int(codes[3].headers["Retry-After"]) > 0
    assert db.session.scalar(db.select(db.func.count(User.id))) == 3


def test_an_expired_token_on_a_cart_is_a_401_not_a_guest(client, store_world):
    ann = f.user(email="ann@example.com")
    headers = f.bearer(ann)
    cart_id = cart_for(client, store_world["store"], headers=headers, email=None)
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.user_id == ann.id))
    token.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db.session.commit()
    for resp in (client.get(f"/api/v1/carts/{cart_id}", headers=headers),
                 client.post("/api/v1/carts", json={}, headers=headers),
                 checkout(client, cart_id, headers=headers)):
        assert_problem(resp, 401, "unauthorized")
        assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]
    assert db.session.scalar(db.select(db.func.count(Cart.id))) == 1  # no guest cart was opened


def test_a_till_sale_of_a_million_is_refused_and_a_negative_figure_is_flagged(client, store_world):
    url = f"/api/v1/stores/{store_world['store'].id}/stock-events"
    huge = {"event_id": "till-1", "type": "sale", "lines": [{"sku": "TEA", "quantity": 1_000_000}]}
    assert_problem(client.post(url, json=huge, headers=store_world["staff"]), 422, "validation_error")
    over = {"event_id": "till-2", "type": "sale", "lines": [{"sku": "TEA", "quantity": 6}]}
    resp = client.post(url, json=over, headers=store_world["staff"])
    assert resp.status_code == 201
    assert resp.get_json()["lines"][0]["on_hand"] == -2
    assert [(w["sku"], w["code"]) for w in resp.get_json()["warnings"]] == [("TEA", "negative_on_hand")]


# Each header a view reads, named by the codes only that reading can answer.
HEADER_FOR_CODE = {"unknown_channel": "X-Channel", "store_required": "X-Store-ID", "stale_cart": "If-Match",
                   "idempotency_key_required": "Idempotency-Key"}


def test_every_header_an_operation_reads_is_in_the_spec(app):
    spec, checked = current_spec(), 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            codes = set()
            for response in operation["responses"].values():
                schema = response.get("content", {}).get("application/problem+json", {}).get("schema", {})
                for part in schema.get("allOf", ()):
                    codes |= set(part.get("properties", {}).get("code", {}).get("enum", ()))
            declared = {p["name"] for p in operation.get("parameters", ()) if p.get("in") == "header"}
            needed = {HEADER_FOR_CODE[c] for c in codes if c in HEADER_FOR_CODE}
            assert needed <= declared, f"{method.upper()} {path}: {sorted(needed - declared)} not declared"
            checked += bool(needed)
    assert checked > 15
    order = spec["paths"]["/api/v1/orders/{order_id}"]["get"]
    assert "X-Order-Token" in {p["name"] for p in order["parameters"]}


def test_a_browser_may_send_every_header_the_spec_declares(database_url, _migrated_app):
    from tests.support.app import make_app

    app = make_app(database_url, CORS_ORIGINS=["https://shop.example"])
    pre = app.test_client().options("/api/v1/orders/1", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "X-Order-Token, X-Store-ID, X-Channel, If-Match"})
    allowed = pre.headers["Access-Control-Allow-Headers"].lower()
    assert all(name in allowed for name in ("x-order-token", "x-store-id", "x-channel", "if-match"))


def test_what_make_fuzz_found_is_answered_as_documented(client):
    """A hold at a store that does not exist; SKUs in characters no SKU has (a URL gunicorn refused)."""
    admin = f.user("admin")
    f.product(sku="MUG")
    db.session.commit()
    hold = {"lines": [{"sku": "MUG", "quantity": 1}]}
    assert_problem(client.post("/api/v1/stores/139337/reservations", json=hold, headers=f.bearer(admin)), 404,
                   "store_not_found")
    store = f.store()
    db.session.commit()
    assert_problem(client.get(f"/api/v1/stores/{store.id}/stock", query_string={"skus": "MUG,\u00e9\u00e9"}), 422,
                   "validation_error")
