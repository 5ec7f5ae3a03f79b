"""A checkout's last writes sent as one statement (shop.core.appends) and sent one by one are the
same writes, and so are its order and lines written with Core and through the ORM's unit of work: the same random checkouts (guests and customers, one to three lines, email or phone
with texts, offers by email, replays, refusals for short stock), run once as the app runs them and
once with `appends.together` switched off, leave the same rows in every table, column by column,
and get the same answers. A column added to a table the checkout writes is compared as well, and
one whose default SQLAlchemy fills in from Python fails the combined statement here (it is not
applied inside WITH) until the writer gives it."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import secrets

import pytest
from sqlalchemy import select

from shop.core import appends
from shop.core.extensions import db, limiter
from tests.support import factories as f
from tests.support.app import wipe
from tests.support.order_writes import through_the_unit_of_work

pytestmark = pytest.mark.postgres  # the one statement is PostgreSQL's; elsewhere writes go one by one

START = dt.datetime(2026, 11, 24, 15, tzinfo=dt.UTC)
PROGRAMS, CHECKOUTS = 6, 8
# Seeded with salted password hashes: the same in both runs but for the salt, and no checkout writes them.
NOT_COMPARED = {"users", "api_tokens"}


def program(rng: random.Random) -> list[dict]:
    steps = []
    for _ in range(CHECKOUTS):
        lines = rng.sample([("MUG", rng.randint(1, 3)), ("TEA", rng.randint(1, 3))], rng.randint(1, 2))
        body = {}
        if rng.random() < 0.4:
            body |= {"phone": "+12125550123", "sms_updates": rng.random() < 0.7}
        if rng.random() < 0.3:
            body |= {"email_marketing": True, "marketing_wording": "Offers by email"}
        steps.append({"lines": lines, "body": body, "customer": rng.random() < 0.4,
                      "replay": rng.random() < 0.3})
    return steps


def _start(seed: int, monkeypatch) -> None:
    """An empty database, and the randomness and the clock of a run, alike in both runs."""
    db.session.remove()
    wipe()  # restarts every id sequence: both runs number their rows alike
    limiter.reset()
    rng = random.Random(seed)  # the tokens, order numbers and pickup codes, alike in both runs
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n=32: "".join(rng.choice("abcdef0123") for _ in range(n)))
    monkeypatch.setattr(secrets, "choice", rng.choice)
    monkeypatch.setattr(secrets, "randbelow", rng.randrange)
    monkeypatch.setattr("shop.core.clock.clock.now", lambda: START)


def _every_row() -> dict:
    db.session.remove()
    rows = {}
    for table in db.metadata.sorted_tables:
        if table.name not in NOT_COMPARED:
            rows[table.name] = [_seen(table.name, dict(row._mapping)) for row in
                                db.session.execute(select(table).order_by(*table.primary_key.columns))]
    db.session.remove()
    return rows


def run(client, seed: int, steps: list[dict], monkeypatch) -> tuple[list, dict]:
    """Play `steps` on an empty database; (every answer, every row of every table)."""
    _start(seed, monkeypatch)
    store = f.store(code="NYC", name="Downtown", hold_days=2, prep_lead_minutes=30)
    for sku, price, units in (("MUG", 1200, 8), ("TEA", 500, 5)):
        f.stock(store, f.product(sku=sku, price=price), units)
    customer = f.user("customer", email="shopper@example.com")
    db.session.commit()
    signed_in = f.bearer(customer)
    answers = []
    for n, step in enumerate(steps):
        frozen = START + dt.timedelta(minutes=n)
        monkeypatch.setattr("shop.core.clock.clock.now", lambda frozen=frozen: frozen)
        headers = signed_in if step["customer"] else {}
        cart = client.post("/api/v1/carts", json={"pickup_store_id": store.id}, headers=headers).get_json()
        for sku, quantity in step["lines"]:
            client.post(f"/api/v1/carts/{cart['id']}/lines", json={"sku": sku, "quantity": quantity}, headers=headers)
        client.patch(f"/api/v1/carts/{cart['id']}", json={"email": "guest@example.com"}, headers=headers)
        for _ in range(2 if step["replay"] else 1):
            resp = client.post(f"/api/v1/carts/{cart['id']}/checkout",
                               json={"payment_method": "pay_at_store", **step["body"]},
                               headers={"Idempotency-Key": f"key-{n}", **headers})
            body = resp.get_json()
            body.pop("request_id", None)
            answers.append((resp.status_code, body))
    return answers, _every_row()


def _seen(table: str, row: dict) -> dict:
    """The row as compared: signed links carry the wall clock's time (not the test's clock), so the
    sign-up's verification token (and the dedupe key naming it) and the offers' confirmation link
    differ between the runs."""
    if table == "messages" and row["template"] == "email_verification":
        row["context"].pop("token"), row.pop("dedupe_key")
    if table == "messages" and row["template"] == "confirm_marketing_email":
        row["context"].pop("confirm_url")
    return row


def _differences(row: dict, row_1: dict) -> dict:
    """Each column (or JSON key) that differs, with both values: what a failure prints."""
    out = {}
    for key, value in row.items():
        other = row_1.get(key)
        if value != other:
            out[key] = _differences(value, other) if isinstance(value, dict) and isinstance(other, dict) \
                else (value, other)
    return out


@pytest.mark.parametrize("seed", range(PROGRAMS))
def test_a_checkouts_writes_are_the_same_together_and_one_by_one(app, client, monkeypatch, seed):
    steps = program(random.Random(seed))
    together = run(client, seed, steps, monkeypatch)
    with monkeypatch.context() as switched_off:
        switched_off.setattr(appends, "together", contextlib.nullcontext)
        one_by_one = run(client, seed, steps, monkeypatch)
    _same(together, one_by_one)


@pytest.mark.parametrize("seed", range(PROGRAMS))
def test_a_checkouts_order_rows_are_the_same_with_core_and_with_the_unit_of_work(app, client, monkeypatch, seed):
    steps = program(random.Random(seed))
    core = run(client, seed, steps, monkeypatch)
    with monkeypatch.context() as general:
        through_the_unit_of_work(general)
        unit_of_work = run(client, seed, steps, monkeypatch)
    _same(core, unit_of_work)


def _same(first: tuple[list, dict], second: tuple[list, dict]) -> None:
    """The same answers, and every row of every table the same, column by column."""
    (answers, rows), (answers_1, rows_1) = first, second
    assert answers == answers_1
    assert any(status == 201 for status, _ in answers) and any(status == 409 for status, _ in answers), \
        "each program should place orders and meet short stock"
    for name in rows:
        assert len(rows[name]) == len(rows_1[name]), name
        for row, row_1 in zip(rows[name], rows_1[name], strict=True):
            assert row == row_1, (name, _differences(row, row_1))
    assert rows["messages"] and rows["order_events"] and rows["cart_events"] and rows["idempotent_replies"]
    assert all(reply["status_code"] is not None for reply in rows["idempotent_replies"])


def test_a_default_left_to_python_is_refused_in_a_combined_write(app):
    # SQLAlchemy fills `created_at`'s Python default into a statement, not into a WITH query: a
    # write that leaves it out would store NULL (or fail) only when sent together. It is refused.
    from sqlalchemy import insert

    from shop.orders.models import OrderEvent
    with pytest.raises(ValueError, match="created_at"), appends.together():
        appends.write(insert(OrderEvent.__table__), {"order_id": 1, "type": "created", "actor_type": "system",
                                                     "channel": "web", "detail": {}})


def test_a_second_write_of_one_row_in_a_block_is_refused(app):
    # One statement's WITH queries do not see one another: of two UPDATEs of one order, PostgreSQL would
    # keep one and drop the other without a word (a checkout's hold id and its payment window did so).
    from sqlalchemy import bindparam, update

    from shop.orders.models import Order
    by_id = update(Order.__table__).where(Order.__table__.c.id == bindparam("order_id"))
    with pytest.raises(ValueError, match="second write of one row"), appends.together():
        appends.write(by_id, {"reservation_id": None, "order_id": 1})
        appends.write(by_id, {"payment_expires_at": None, "order_id": 1})


def test_a_read_rides_with_the_blocks_writes_and_its_callback_runs_after_them(app, client, store_world):
    # read_after inside a block: one statement for the writes and the read (the read its main query,
    # seeing the tables as before the writes), the callback called once the statement ran. Its
    # parameters, named as columns of an UPDATE among the writes (order_id, cart_id), must not
    # become that UPDATE's SETs.
    from sqlalchemy import bindparam, func, select, update

    from shop.orders.models import Order, OrderEvent
    from tests.support.orders import cart_for, checkout
    from tests.support.statement_count import statements

    order_id = checkout(client, cart_for(client, store_world["store"])).get_json()["order"]["id"]
    before = db.session.get(Order, order_id).cart_id
    events = OrderEvent.__table__
    count = select(func.count()).select_from(events).where(events.c.order_id == bindparam("order_id"),
                                                          events.c.type != bindparam("cart_id"))
    by_id = update(Order.__table__).where(Order.__table__.c.id == bindparam("order_id"))
    answers = []
    with statements() as seen, appends.together():
        appends.write(by_id, {"reservation_id": None, "order_id": order_id})
        appends.read_after(count, {"order_id": order_id, "cart_id": "none"}, lambda row: answers.append(row[0]))
        assert answers == []  # not yet: it rides with the writes
    assert len(seen) == 1
    assert answers == [1]  # the "created" event
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    assert (order.reservation_id, order.cart_id) == (None, before)


# Pickups with two post-pickup campaigns active: (email, mugs). The first campaign takes orders of
# two mugs and more, the second any guest's; each takes a contact once a week, so the last pickup
# is cooling down in both; the shy guest gave no consent and enters nothing.
PICKUPS = (("keen@example.com", 1), ("shy@example.com", 1), ("keen@example.com", 2), ("keen@example.com", 2))


def pickups(client, monkeypatch) -> tuple[list, dict]:
    """Hand the PICKUPS over on an empty database (one of them twice: a retry); (every answer,
    every row of every table)."""
    from tests.support.campaigns import grant, launch, marketer
    from tests.support.pickup import make_ready

    _start(0, monkeypatch)
    store = f.store(code="NYC", name="Downtown", hold_days=2, prep_lead_minutes=30)
    f.stock(store, f.product(sku="MUG", price=1200), 20)
    world = {"store": store, "staff": f.bearer(f.user("staff", [store]))}
    db.session.commit()
    grant("email", email="keen@example.com")
    step = [{"delay_minutes": 14 * 24 * 60, "channel": "email", "template": "post_pickup_follow_up"}]
    headers = marketer()
    launch(client, headers, "order_picked_up", step, audience={"min_cart_value": 2000})
    launch(client, headers, "order_picked_up", step, audience={"who": "guest"})
    answers = []
    for n, (email, mugs) in enumerate(PICKUPS):
        monkeypatch.setattr("shop.core.clock.clock.now", lambda n=n: START + dt.timedelta(hours=n))
        cart = client.post("/api/v1/carts", json={"pickup_store_id": store.id}).get_json()
        client.post(f"/api/v1/carts/{cart['id']}/lines", json={"sku": "MUG", "quantity": mugs})
        client.patch(f"/api/v1/carts/{cart['id']}", json={"email": email})
        placed = client.post(f"/api/v1/carts/{cart['id']}/checkout", json={"payment_method": "pay_at_store"},
                             headers={"Idempotency-Key": f"pickup-{n}"}).get_json()
        make_ready(client, world, placed["order"]["id"])
        for _ in range(2 if n == 2 else 1):
            resp = client.post(f"/api/v1/orders/{placed['order']['id']}/handover",
                               json={"pickup_code": placed["pickup_code"]}, headers=world["staff"])
            answers.append((resp.status_code, resp.get_json()["status"]))
    return answers, _every_row()


def test_a_pickups_campaigns_read_riding_with_its_move_enrols_as_read_at_once(app, client, monkeypatch):
    # The handover's campaigns read goes with its move's writes and the enrolments are written
    # after them; with the blocks switched off, read and written at once: the same rows.
    riding = pickups(client, monkeypatch)
    with monkeypatch.context() as switched_off:
        switched_off.setattr(appends, "together", contextlib.nullcontext)
        at_once = pickups(client, monkeypatch)
    assert riding[0] == at_once[0] == [(200, "picked_up")] * (len(PICKUPS) + 1)
    for name, rows in riding[1].items():
        assert len(rows) == len(at_once[1][name]), name
        for row, row_1 in zip(rows, at_once[1][name], strict=True):
            assert row == row_1, (name, _differences(row, row_1))
    enrolled = [(row["campaign_id"], row["email"], row["order_id"]) for row in riding[1]["campaign_enrolments"]]
    assert enrolled == [(2, "keen@example.com", 1), (1, "keen@example.com", 3)]


def test_a_read_of_many_rows_rides_once_however_often_the_block_asks_it(app, client, store_world):
    # read_after(rows=True) inside a block: every row of the read, as run at once before the
    # block; asked again with the same parameters, it rides once and the callbacks run in order.
    from sqlalchemy import bindparam, update

    from shop.orders.models import Order, OrderEvent
    from tests.support.orders import cart_for, checkout
    from tests.support.pickup import make_ready
    from tests.support.statement_count import statements

    order_id = checkout(client, cart_for(client, store_world["store"])).get_json()["order"]["id"]
    make_ready(client, store_world, order_id)
    events = OrderEvent.__table__
    history = select(events.c.type, events.c.to_status).where(events.c.order_id == bindparam("order_id")).order_by(
        events.c.id)
    before = db.session.execute(history, {"order_id": order_id}).all()
    assert len(before) == 3  # created, started picking, ready
    by_id = update(Order.__table__).where(Order.__table__.c.id == bindparam("order_id"))
    answers = []
    with statements() as seen, appends.together():
        appends.write(by_id, {"reservation_id": None, "order_id": order_id})
        for n in (1, 2):
            appends.read_after(history, {"order_id": order_id}, lambda rows, n=n: answers.append((n, rows)),
                               rows=True)
        assert answers == []
    assert len(seen) == 1
    assert answers == [(1, before), (2, before)]
