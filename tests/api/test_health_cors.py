"""Health and readiness, and CORS for the configured storefront origins only."""

from __future__ import annotations

from tests.support.app import make_app


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"


def test_readyz_is_503_when_migrations_are_behind(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'empty.db'}")
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["reason"] == "migrations not at head"


def test_readyz_is_503_when_database_is_unreachable():
    app = make_app("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"connect_timeout": 1}}
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["reason"] == "database unreachable"


def test_no_cors_by_default(client):
    resp = client.get("/api/v1/openapi.json", headers={"Origin": "https://shop.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_cors_for_configured_storefront(database_url, _migrated_app):
    app = make_app(database_url, CORS_ORIGINS=["https://shop.example"])
    c = app.test_client()
    pre = c.options(
        "/api/v1/customers",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "If-Match, Idempotency-Key, Authorization",
        },
    )
    assert pre.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    allowed = pre.headers["Access-Control-Allow-Headers"].lower()
    assert "if-match" in allowed and "idempotency-key" in allowed
    resp = c.get("/api/v1/openapi.json", headers={"Origin": "https://shop.example"})
    exposed = resp.headers["Access-Control-Expose-Headers"].lower()
    assert "etag" in exposed and "x-request-id" in exposed
    other = c.get("/api/v1/openapi.json", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
