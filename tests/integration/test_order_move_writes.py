"""An order's move written as one statement on PostgreSQL (the order's UPDATE, its event's INSERT
and the messages its signal queues, as data-modifying CTEs: shop.orders.states through
shop.core.appends) writes what the general path writes (the unit of work's flush, then the event
and the messages one by one): the same story of pickup orders (full, short and empty picks, a
wrong code, a card capture, lines a stock count put at risk, a till sale taking held units, a
cancel, a handover retried) run once as the app runs it and once with the one-statement forms off,
each on an emptied database with the same random draws and clock, gets the same answers and leaves
every column of every table equal."""

from __future__ import annotations

import datetime as dt
import random
import secrets
import uuid

import pytest
from sqlalchemy import select

from shop.core import plans
from shop.core.clock import clock
from shop.core.extensions import db, limiter
from tests.support import factories as f
from tests.support.app import wipe
from tests.support.orders import cart_for, checkout
from tests.support.scripted_gateway import ready_card_order
from tests.support.statement_count import statements

pytestmark = pytest.mark.postgres  # on SQLite both runs would take the general path

START = dt.datetime(2026, 12, 3, 15, tzinfo=dt.UTC)


class Story:
    """One run of the story; every answer kept (status and body) in order."""

    def __init__(self, client, gateway):
        self.client, self.gateway, self.answers = client, gateway, []
        self.store = f.store(code="NYC", name="Union Square", hold_days=2, prep_lead_minutes=30)
        for sku, price, units in (("MUG", 1200, 10), ("TEA", 500, 4), ("JAM", 700, 3)):
            f.stock(self.store, f.product(sku=sku, price=price), units)
        self.staff = f.bearer(f.user("staff", [self.store], email="clerk@example.com"))
        db.session.commit()
        self.world = {"store": self.store, "staff": self.staff}

    def post(self, path: str, body: dict | None = None, method: str = "POST") -> dict:
        resp = self.client.open(f"/api/v1{path}", method=method, json=body or {}, headers=self.staff)
        body = resp.get_json()
        self.answers.append((path, resp.status_code, {k: v for k, v in body.items() if k != "request_id"}))
        return body

    def place(self, lines) -> dict:
        resp = checkout(self.client, cart_for(self.client, self.store, lines=lines))
        self.answers.append(("checkout", resp.status_code, resp.get_json()))
        return resp.get_json()

    def ready(self, placed: dict, picks: dict[str, int] = {}) -> int:  # noqa: B006 (read only)
        order_id = placed["order"]["id"]
        self.post(f"/orders/{order_id}/picking")
        for line in placed["order"]["lines"]:
            if line["sku"] in picks:
                self.post(f"/orders/{order_id}/lines/{line['id']}/pick", {"picked_quantity": picks[line["sku"]]},
                          "PUT")
        self.post(f"/orders/{order_id}/ready")
        return order_id

    def hand_over(self, placed: dict, code: str | None = None) -> None:
        self.post(f"/orders/{placed['order']['id']}/handover", {"pickup_code": code or placed["pickup_code"]})

    def run(self) -> None:
        full = self.place((("MUG", 2), ("TEA", 1)))
        self.ready(full)
        self.hand_over(full)
        self.hand_over(full)  # a retry whose reply was lost
        short = self.place((("MUG", 1), ("TEA", 2)))
        self.ready(short, {"TEA": 1})
        self.hand_over(short, "000000" if short["pickup_code"] != "000000" else "111111")  # wrong code
        self.hand_over(short)
        empty_line = self.place((("MUG", 1), ("JAM", 1)))
        self.ready(empty_line, {"JAM": 0})
        self.hand_over(empty_line)
        at_risk = self.place((("TEA", 1), ("JAM", 2)))
        self.ready(at_risk)
        count = {"event_id": "count-1", "type": "count", "lines": [{"sku": "TEA", "quantity": 0}]}
        self.post(f"/stores/{self.store.id}/stock-events", count)
        sale = {"event_id": "sale-1", "type": "sale", "lines": [{"sku": "JAM", "quantity": 1}]}
        self.post(f"/stores/{self.store.id}/stock-events", sale)  # a till sale takes held units
        self.hand_over(at_risk)
        card = ready_card_order(self.client, self.world, self.gateway, lines=(("MUG", 1),))
        self.answers.append(("card", 201, card))
        self.hand_over(card)
        cancelled = self.place((("MUG", 1),))
        self.post(f"/orders/{self.ready(cancelled)}/cancel", {"reason": "customer_request"})


def every_row() -> dict[str, list]:
    """Every column of every table, rows in key order."""
    out = {}
    for table in db.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        out[table.name] = [tuple(row) for row in db.session.execute(select(table).order_by(*order)).all()]
    return out


def run_story(client, gateway, one_statement: bool, monkeypatch) -> tuple[list, dict, list[str]]:
    """The story on an emptied database (ids from 1), the same random draws and the same clock."""
    db.session.remove()
    wipe()
    limiter.reset()
    gateway.__init__()  # the intents of the other run forgotten
    draws = random.Random(7)
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n=32: "".join(draws.choice("abcdefgh") for _ in range(n)))
    monkeypatch.setattr(secrets, "choice", draws.choice)
    monkeypatch.setattr(secrets, "randbelow", draws.randrange)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=draws.getrandbits(128)))  # Idempotency-Keys
    monkeypatch.setattr(clock, "now", lambda: START)
    saved = set(plans.ONE_STATEMENT_DIALECTS)
    if not one_statement:
        plans.ONE_STATEMENT_DIALECTS.clear()
    try:
        story = Story(client, gateway)
        with statements() as sent:
            story.run()
        db.session.expire_all()
        return story.answers, every_row(), sent
    finally:
        plans.ONE_STATEMENT_DIALECTS.update(saved)


def test_a_move_in_one_statement_writes_what_the_flush_and_the_event_write(app, client, gateway, monkeypatch):
    fast_answers, fast_rows, fast_sent = run_story(client, gateway, True, monkeypatch)
    general_answers, general_rows, general_sent = run_story(client, gateway, False, monkeypatch)
    assert [a[:2] for a in fast_answers] == [a[:2] for a in general_answers]
    for fast, general in zip(fast_answers, general_answers, strict=True):
        assert fast == general
    assert fast_rows.keys() == general_rows.keys()
    for table in fast_rows:
        assert fast_rows[table] == general_rows[table], table
    # The story reached what it is about, and each run took its own path.
    assert all(status in (200, 201) for path, status, _ in fast_answers if path != "/orders/2/handover")
    assert [status for path, status, _ in fast_answers if path == "/orders/2/handover"] == [422, 200]  # wrong code
    moves = [sql for sql in fast_sent if "UPDATE orders" in sql and "INSERT INTO order_events" in sql]
    assert len(moves) >= 15, len(moves)
    assert sum("INSERT INTO messages" in sql for sql in moves) >= 5  # a move's messages in its statement
    assert not any("UPDATE orders" in sql and "INSERT INTO" in sql for sql in general_sent)
    picked_up = [body for path, status, body in fast_answers if path.endswith("/handover") and status == 200]
    assert any(body["at_risk_skus"] for body in picked_up)
