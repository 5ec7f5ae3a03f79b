"""A checkout's pickup store read inside the cart's convert (stores.services.joined_with_hours, the
PostgreSQL fast path) and read on its own (`with_hours`, the general path) are the same StoreHours:
the store's every column, its weekly hours and its dated exceptions (closed days with no times,
spans past midnight), for stores with both, either or neither, and carts of none to three lines.
A store column added later is compared as well."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import event, inspect

from shop.accounts.actors import Actor
from shop.carts import adds
from shop.carts import service as carts
from shop.core.extensions import db
from stores.models import OpeningException, OpeningHours, Store
from stores.services import with_hours
from tests.support import factories as f

pytestmark = pytest.mark.postgres  # the folded read is PostgreSQL's; elsewhere checkout runs with_hours

GUEST = Actor("guest", None, "web")
SKUS = ("MUG", "TEA", "CUP")


def _time(rng: random.Random) -> dt.time:
    return dt.time(rng.randrange(24), rng.choice((0, 15, 30, 45)))


def random_store(rng: random.Random, code: str) -> Store:
    """A store with a random week (some days missing, some spans past midnight) and random
    exceptions (closed days, special hours, one with an opening time only)."""
    store = f.store(code=code, name=f"Store {code}", address=rng.choice(("", "1 Main St")),
                    latitude=rng.uniform(-60, 60), longitude=rng.uniform(-120, 120),
                    tz=rng.choice(("America/New_York", "Europe/Paris", "Asia/Tokyo")),
                    pickup_enabled=rng.random() < 0.8, pay_at_store_enabled=rng.random() < 0.7,
                    hold_days=rng.randint(1, 5), prep_lead_minutes=rng.choice((0, 30, 60, 240)))
    store.hours.clear()  # the factory's week
    db.session.flush()
    store.hours = [OpeningHours(weekday=day, opens=_time(rng), closes=_time(rng))
                   for day in sorted(rng.sample(range(7), rng.choice((0, 1, 5, 7))))]
    start = dt.date(2026, 12, 1)
    days = sorted(rng.sample(range(60), rng.choice((0, 1, 3, 6))))
    store.exceptions = [OpeningException(date=start + dt.timedelta(days=day),
                                         **rng.choice(({"opens": None, "closes": None},
                                                       {"opens": _time(rng), "closes": _time(rng)},
                                                       {"opens": _time(rng), "closes": None})),
                                         note=rng.choice(("", "Holiday")))
                        for day in days]
    db.session.flush()
    return store


def described(store_hours) -> tuple:
    """What a checkout reads of a StoreHours: every store column, the hours and the exceptions."""
    return ({column.key: getattr(store_hours.store, column.key) for column in Store.__table__.c},
            sorted((s.weekday, s.date, s.opens, s.closes) for s in store_hours.hours),
            sorted((s.weekday, s.date, s.opens, s.closes) for s in store_hours.exceptions))


def _cart(store: Store | None, lines: int) -> str:
    cart, _ = carts.open_cart(GUEST, None if store is None else store.id)
    for sku in SKUS[:lines]:
        adds.add_line(cart.id, sku, 1, GUEST)
    db.session.commit()
    return cart.id


def _folded(cart_id: str):
    """convert's store, read by its one statement in a fresh session (the cart left unconverted)."""
    db.session.remove()
    sent = []

    def record(_conn, _cursor, statement, *_):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        cart, store = carts.convert(cart_id, GUEST)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(sent) == 1, sent  # the cart, its lines and the store: one statement
    seen = None if store is None else (described(store), inspect(store.store).persistent,
                                       db.session.get(Store, store.id) is store.store)
    db.session.rollback()
    return cart, seen


def _general(store_id: int):
    db.session.remove()
    store = with_hours(store_id)
    seen = (described(store), inspect(store.store).persistent, db.session.get(Store, store_id) is store.store)
    db.session.rollback()
    return seen


@pytest.mark.parametrize("seed", range(6))
def test_the_store_read_with_the_cart_is_the_store_read_alone(app, seed):
    rng = random.Random(seed)
    products = [f.product(sku=sku) for sku in SKUS]
    stores = [random_store(rng, f"S{seed}{n}") for n in range(4)]
    for store in stores:
        for product in products:
            f.stock(store, product, 50)
    db.session.commit()
    for store in stores:
        for lines in range(4):
            cart_id = _cart(store, lines)
            cart, folded = _folded(cart_id)
            assert len(cart.lines) == lines
            assert folded is not None  # trusted rows: the store came with them
            assert folded == _general(store.id)
            assert folded[1:] == (True, True)  # the session's object, as a later read finds it


def test_the_read_covers_both_kinds_of_store_and_none(app):
    # The random stores above, pinned: a store with neither hours nor exceptions, one with both
    # (a closed day and a span past midnight), and a cart with no pickup store (convert says None).
    bare = f.store(code="BARE")
    bare.hours = []
    full = f.store(code="FULL")
    full.hours[0].closes = dt.time(2)  # Monday 9:00 to 2:00 the next day
    full.exceptions = [OpeningException(date=dt.date(2026, 12, 25), opens=None, closes=None, note="Closed"),
                       OpeningException(date=dt.date(2026, 12, 24), opens=dt.time(9), closes=dt.time(13))]
    f.stock(bare, f.product(sku="MUG"), 5)
    db.session.commit()
    (bare_store, _, _), (full_store, _, _) = (_folded(_cart(bare, 1))[1], _folded(_cart(full, 0))[1])
    assert bare_store[1:] == ([], [])
    assert full_store[1][0] == (0, None, dt.time(9), dt.time(2))
    assert full_store[2] == [(None, dt.date(2026, 12, 24), dt.time(9), dt.time(13)),
                             (None, dt.date(2026, 12, 25), None, None)]
    assert (bare_store, full_store) == (_general(bare.id)[0], _general(full.id)[0])
    cart, folded = _folded(_cart(None, 0))
    assert cart.pickup_store_id is None and folded is None
