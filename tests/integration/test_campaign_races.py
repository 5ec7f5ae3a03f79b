"""Two schedulers at once on PostgreSQL, as real threads and as real processes: the abandonment
sweep never signals (so never enrols) a cart twice, and the campaign sweep never runs a step twice."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from notifications.campaigns import advance, demo
from notifications.campaigns.models import Enrolment, StepRun
from notifications.models import Message
from shop.carts import abandonment
from shop.carts.models import Cart
from shop.core import sweeps as runner
from shop.core.clock import clock
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.abandoned_carts import seed_carts
from tests.support.sweep_processes import abandoned_sweeps_at_once
from tests.support.sweeps import at_once

pytestmark = pytest.mark.postgres

CARTS = 300


@pytest.fixture
def idle_carts(app):
    store, product = f.store(), f.product(sku="MUG")
    demo.ensure_default()
    db.session.commit()
    seed_carts(CARTS * 2, CARTS, store.id, product.id, clock.now())
    db.session.commit()


def _sweep(name, batch):
    return lambda: runner.repeat(name, batch)


def test_two_schedulers_enrol_each_cart_once_and_send_each_step_once(idle_carts, wide_app):
    found = at_once(wide_app, [_sweep("a", lambda: abandonment.find_abandoned(limit=7)),
                               _sweep("b", lambda: abandonment.find_abandoned(limit=7))])
    assert not [r for r in found if isinstance(r, Exception)], found
    db.session.expire_all()
    enrolled = db.session.execute(select(func.count(), func.count(func.distinct(Enrolment.subject)))
                                  .select_from(Enrolment)).one()
    assert tuple(enrolled) == (CARTS, CARTS)
    assert sum(found) >= CARTS  # every idle cart was looked at, by one sweep or the other

    ran = at_once(wide_app, [_sweep("c", lambda: advance.advance_due(limit=5)),
                             _sweep("d", lambda: advance.advance_due(limit=5))])
    assert not [r for r in ran if isinstance(r, Exception)], ran
    assert sum(ran) == CARTS
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(StepRun)) == CARTS
    assert db.session.scalar(select(func.count()).select_from(Message)) == CARTS
    assert clock.now() - dt.timedelta(minutes=5) < db.session.scalar(select(func.max(Message.created_at)))


def test_two_scheduler_processes_enrol_each_cart_once(app, database_url, tmp_path):
    store, product = f.store(), f.product(sku="MUG")
    demo.ensure_default()
    db.session.commit()
    idle = 1000
    seed_carts(idle * 2, idle, store.id, product.id, clock.now())

    reports = abandoned_sweeps_at_once(2, database_url, str(tmp_path), limit=5)

    assert [error for *_, error in reports] == [None, None], reports
    assert len({pid for pid, *_ in reports}) == 2
    assert sum(looked for _, looked, _, _ in reports) == idle  # each idle cart looked at by one process, once
    assert all(looked > 0 for _, looked, _, _ in reports), reports  # they did race: 200 batches between them
    db.session.expire_all()
    enrolled = db.session.execute(select(func.count(), func.count(func.distinct(Enrolment.subject)))
                                  .select_from(Enrolment)).one()
    assert tuple(enrolled) == (idle, idle)
    assert db.session.scalar(select(func.count()).select_from(Cart).where(Cart.abandoned_at.is_(None),
                                                                          Cart.last_activity_at < clock.now()
                                                                          - dt.timedelta(hours=1),
                                                                          Cart.status == "active")) == 0
