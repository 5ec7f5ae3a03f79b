"""Every error is application/problem+json with a machine code; nothing leaks; nothing is written."""

from __future__ import annotations

import pytest

from shop.accounts.models import User
from shop.core.extensions import db
from tests.support.app import make_app
from tests.support.problems import PROBLEM, assert_problem  # noqa: F401 (others import it from here)


def test_unknown_path_is_a_404_problem(client):
    assert_problem(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_a_405_with_allow(client):
    resp = client.put("/api/v1/customers", json={})
    assert_problem(resp, 405, "method_not_allowed")
    assert set(resp.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_malformed_json_is_a_400_problem_and_creates_nothing(client):
    resp = client.post(
        "/api/v1/customers", data='{"email": "a@example.com",', content_type="application/json"
    )
    assert_problem(resp, 400, "malformed_request")
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_validation_errors_are_listed_by_field(client):
    resp = client.post("/api/v1/customers", json={"email": "not-an-email", "password": "short"})
    body = assert_problem(resp, 422, "validation_error")
    assert set(body["errors"]) == {"email", "password", "name"}
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_wrong_json_types_are_422_not_500(client):
    for payload in ([1, 2], "text", 3, None, {"email": 5, "password": [], "name": {}}):
        resp = client.post("/api/v1/customers", json=payload)
        assert resp.status_code in (400, 422), payload
        assert resp.mimetype == PROBLEM


def test_a_nul_character_anywhere_is_a_422_and_creates_nothing(client):
    # Found by schemathesis: a NUL in a product search was a 500 on PostgreSQL.
    assert_problem(client.get("/api/v1/products?q=mug%00"), 422, "invalid_value")
    assert_problem(client.get("/api/v1/products/MUG%00"), 422, "invalid_value")
    signup = {"email": "nul@example.com", "password": "long-enough-pw", "name": "Nu\u0000l"}
    assert_problem(client.post("/api/v1/customers", json=signup), 422, "invalid_value")
    assert db.session.scalar(db.select(User).where(User.email == "nul@example.com")) is None


@pytest.fixture
def exploding_app(database_url, _migrated_app):
    app = make_app(database_url)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals: password=hunter2 at /srv/app.py line 7")

    @app.get("/clash")
    def clash():
        for _ in range(2):
            db.session.add(User(email="twin@example.com", password_hash="x"))
        db.session.flush()
        raise AssertionError("unreachable")

    @app.get("/bad-value")
    def bad_value():
        db.session.add(User(email="dv@example.com", password_hash="x"))
        db.session.flush()
        db.session.execute(db.text("SELECT CAST(:v AS INTEGER) + 2147483647"), {"v": 2147483647}).all()
        raise AssertionError("unreachable")

    with app.app_context():
        yield app
        db.session.remove()


def test_unexpected_error_is_a_500_problem_without_internals(exploding_app):
    resp = exploding_app.test_client().get("/boom")
    body = assert_problem(resp, 500, "internal_error")
    text = resp.get_data(as_text=True)
    assert "secret" not in text and "hunter2" not in text and "Traceback" not in text
    assert body["request_id"] == resp.headers["X-Request-ID"]


def test_unique_clash_is_a_409_problem(exploding_app):
    resp = exploding_app.test_client().get("/clash")
    assert_problem(resp, 409, "conflict")
    assert "twin@example.com" not in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


@pytest.mark.postgres
def test_a_value_the_database_refuses_is_a_422_and_keeps_nothing(exploding_app):
    # The safety net behind the schemas: a DataError is the caller's input, not our 500.
    assert_problem(exploding_app.test_client().get("/bad-value"), 422, "invalid_value")
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_request_id_is_generated_or_echoed(client):
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) >= 16
    assert client.get("/healthz").headers["X-Request-ID"] != generated
    echoed = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["X-Request-ID"] == "abc-123"
    # Something that could inject into logs is replaced, not echoed.
    weird = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"})
    assert weird.headers["X-Request-ID"] != "bad id <script>"


def test_openapi_spec_and_docs_are_served(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/auth/tokens" in spec["paths"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    default = spec["components"]["responses"]["DEFAULT_ERROR"]
    assert PROBLEM in default["content"]
    assert client.get("/api/v1/docs").status_code == 200
