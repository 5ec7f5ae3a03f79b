"""GET /metrics: what an operator's Prometheus sees after some traffic, and who may scrape."""

from __future__ import annotations

import datetime as dt

import pytest

from notifications import outbox
from shop.core import scheduler
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.clock import frozen_clock  # noqa: F401 (fixture)
from tests.support.metrics import AUTH, TOKEN, samples, series, value
from tests.support.problems import assert_problem


@pytest.fixture
def token(app, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)


def scrape(client) -> dict:
    resp = client.get("/metrics", headers=AUTH)
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    return samples(resp.get_data(as_text=True))


def test_not_served_without_a_token_configured(client):
    assert_problem(client.get("/metrics", headers=AUTH), 404, "not_found")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}])
def test_a_scrape_without_the_token_is_refused(client, token, headers):
    resp = client.get("/metrics", headers=headers)
    assert_problem(resp, 401, "unauthorized")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert b"omnishop_" not in resp.data


def test_requests_are_counted_by_url_rule_and_status_never_by_raw_path(client, token):
    store = f.store(code="MET")
    db.session.commit()
    before = scrape(client)
    cart = client.post("/api/v1/carts", json={"pickup_store_id": store.id}).get_json()
    for _ in range(3):
        assert client.get(f"/api/v1/carts/{cart['id']}").status_code == 200
    assert client.get("/api/v1/carts/" + "x" * 43).status_code == 404
    assert client.get("/no/such/page").status_code == 404
    after = scrape(client)

    def count(route, status, method="GET"):
        labels = {"method": method, "route": route, "status": status}
        return (value(after, "omnishop_http_request_duration_seconds_count", **labels) or 0) - (
            value(before, "omnishop_http_request_duration_seconds_count", **labels) or 0)

    assert count("/api/v1/carts/{cart_id}", "200") == 3
    assert count("/api/v1/carts/{cart_id}", "404") == 1
    assert count("/api/v1/carts", "201", "POST") == 1
    assert count("<unmatched>", "404") == 1
    routes = {labels["route"] for labels in series(after, "omnishop_http_request_duration_seconds_count")}
    assert not any(cart["id"] in route or "xxxx" in route for route in routes)
    assert value(after, "omnishop_http_request_duration_seconds_bucket", method="GET",
                 route="/api/v1/carts/{cart_id}", status="200", le="+Inf") >= 3
    assert value(after, "omnishop_db_pool_capacity") > 0
    assert value(after, "omnishop_db_pool_checked_out") is not None


def test_database_figures_are_read_at_scrape(client, token, frozen_clock):  # noqa: F811
    quiet = scrape(client)
    assert value(quiet, "omnishop_outbox_due_messages") == 0
    assert value(quiet, "omnishop_outbox_oldest_due_age_seconds") == 0
    assert value(quiet, "omnishop_holds_at_risk") == 0
    assert value(quiet, "omnishop_scheduler_lease_seconds_left") == 0  # nobody leads

    for n, minutes, status in [(1, -10, "queued"), (2, -5, "held"), (3, -1, "sending"),
                               (4, 60, "queued"), (5, -120, "sent"), (6, -130, "failed")]:
        message = outbox.enqueue(template="email_verification", channel="email", purpose="transactional",
                                 to=f"m{n}@example.com", dedupe_key=f"metrics-{n}", context={},
                                 due_at=frozen_clock.now + dt.timedelta(minutes=minutes))
        message.status = status  # due and pending: the first three; later or final: the rest
    store, mug = f.store(code="RSK"), f.product(sku="MUG")
    f.stock(store, mug, 5)
    staff = f.bearer(f.user("staff", [store]))
    db.session.commit()
    url = f"/api/v1/stores/{store.id}/reservations"
    for quantity in (3, 2):
        assert client.post(url, headers=staff, json={"lines": [{"sku": "MUG", "quantity": quantity}]}).status_code == 201
    sale = client.post(f"/api/v1/stores/{store.id}/stock-events", headers=staff,
                       json={"event_id": "till-1", "type": "sale", "lines": [{"sku": "MUG", "quantity": 1}]})
    assert len(sale.get_json()["at_risk_reservation_ids"]) == 1
    leader = scheduler.Leader(client.application, lease_seconds=30, renew_seconds=10)
    leader.renew()

    busy = scrape(client)
    assert value(busy, "omnishop_outbox_due_messages") == 3
    assert value(busy, "omnishop_outbox_oldest_due_age_seconds") == 600
    assert value(busy, "omnishop_holds_at_risk") == 1
    assert value(busy, "omnishop_scheduler_lease_seconds_left") == 30
    assert value(busy, "omnishop_scheduler_leader") == 1
    assert all(value(busy, "omnishop_scrape_source_up", source=s) == 1 for s in ("outbox", "holds", "scheduler_lease"))
    leader.resign()
    assert value(scrape(client), "omnishop_scheduler_leader") == 0


def test_sweep_runs_are_timed_and_counted_and_failures_told(client, token):
    before = scrape(client)
    app = client.application
    scheduler.run_sweep(app, "metrics_probe", lambda: {"sent": 2, "held": 1})

    def broken():
        raise RuntimeError("boom")

    scheduler.run_sweep(app, "metrics_probe", broken)
    after = scrape(client)

    def grew(name, **labels):
        return (value(after, name, **labels) or 0) - (value(before, name, **labels) or 0)

    assert grew("omnishop_sweep_rows_total", sweep="metrics_probe") == 3
    assert grew("omnishop_sweep_failures_total", sweep="metrics_probe") == 1
    assert grew("omnishop_sweep_duration_seconds_count", sweep="metrics_probe", outcome="ok") == 1
    assert grew("omnishop_sweep_duration_seconds_count", sweep="metrics_probe", outcome="failed") == 1
    assert value(after, "omnishop_sweep_last_success_timestamp_seconds", sweep="metrics_probe") > 0
