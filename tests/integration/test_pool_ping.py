"""The pool's ping is the transaction's BEGIN (shop.core.database): a request on a pooled connection
makes one round trip fewer, and a connection the server ended is still found out and replaced
before the request uses it."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shop.core.extensions import db
from tests.support import factories as f
from tests.support.statement_count import round_trips

pytestmark = pytest.mark.postgres  # SQLite has no pool ping of ours


@pytest.fixture
def shop_(app):
    store, mug = f.store(code="NYC"), f.product(sku="MUG")
    f.stock(store, mug, 50)
    clerk = f.bearer(f.user("staff", [store]))
    db.session.commit()
    return store, clerk


def trips(request) -> int:
    """The round trips of one request that starts on a pooled connection, as under gunicorn (the
    test's own session, which requests here share, is given back first)."""
    db.session.remove()
    with round_trips() as seen:
        request()
        db.session.remove()  # the request's teardown, which ends a read's transaction
    return len(seen)


def test_a_request_on_a_pooled_connection_sends_no_begin_of_its_own(client, shop_):
    """Nor does a read's ROLLBACK cost the next request its prepared statements (shop.core.plans)."""
    store, clerk = shop_
    cart = client.post("/api/v1/carts", json={"pickup_store_id": store.id}).get_json()
    add = {"sku": "MUG", "quantity": 1}
    hold = {"lines": [{"sku": "MUG", "quantity": 1}], "ttl_minutes": 60}

    def ok(resp, status):
        assert resp.status_code == status

    steps = [lambda: ok(client.post(f"/api/v1/carts/{cart['id']}/lines", json=add), 200),
             lambda: ok(client.get(f"/api/v1/carts/{cart['id']}"), 200),
             lambda: ok(client.post(f"/api/v1/stores/{store.id}/reservations", json=hold, headers=clerk), 201)]
    db.session.remove()
    db.engine.dispose()  # one pooled connection from here on: the statements prepared on it are ours
    for step in steps:
        trips(step)  # each statement prepared once
    # ping-and-BEGIN, the statements (3, 1, 2), then COMMIT or ROLLBACK; each after a read's ROLLBACK
    assert [trips(step) for step in steps] == [5, 3, 4]
    assert [trips(step) for step in (steps[1], steps[0], steps[1], steps[2])] == [3, 5, 3, 4]


def test_a_pooled_connection_the_server_ended_is_replaced_before_the_request_uses_it(client, shop_):
    store, _ = shop_
    path = f"/api/v1/stores/{store.id}"
    assert client.get(path).status_code == 200  # its connection back in the pool
    pooled = {row[0] for row in db.session.execute(text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))}
    db.session.execute(text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) AS pid"),
                       {"pids": list(pooled)})
    db.session.commit()
    for _ in range(len(pooled) + 1):  # every pooled connection is now dead: each request meets one
        assert client.get(path).status_code == 200


def test_a_transaction_begun_by_the_ping_is_the_one_the_request_writes_in(app, shop_):
    """What the request writes after a ping-and-BEGIN is committed by its COMMIT, and a rollback
    takes back all of it: the ping's BEGIN and the request's statements are one transaction."""
    store, _ = shop_
    db.session.remove()
    with db.engine.connect() as conn:  # a pooled connection: pinged, so begun by the ping
        conn.execute(text("UPDATE stock SET on_hand = 7 WHERE store_id = :s"), {"s": store.id})
        assert conn.execute(text("SELECT now() = statement_timestamp()")).scalar() is False  # begun earlier
        conn.rollback()
        assert conn.execute(text("SELECT on_hand FROM stock WHERE store_id = :s"), {"s": store.id}).scalar() == 50
