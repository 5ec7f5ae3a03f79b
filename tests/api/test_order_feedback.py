"""Feedback on a collected order: by its shopper (or the guest holding its token), once, on the timeline."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shop.core.extensions import db
from shop.orders.models import OrderFeedback
from tests.support import factories as f
from tests.support.api import sign_in
from tests.support.pickup import picked_up, place
from tests.support.problems import assert_problem


def _rate(client, order_id, headers, **body):
    return client.post(f"/api/v1/orders/{order_id}/feedback", json=body, headers=headers)


def _stored() -> int:
    return db.session.scalar(select(func.count()).select_from(OrderFeedback))


def test_a_customer_rates_a_collected_order_once_and_it_shows_on_timeline_and_order(client, store_world):
    f.user(email="ann@example.com", password="ann-password")
    db.session.commit()
    ann = sign_in(client)
    order = picked_up(client, store_world, [("MUG", 1)], headers=ann, email=None)["order"]
    given = _rate(client, order["id"], ann, rating=4, comment="Ready on time; the mug was well wrapped.")
    assert given.status_code == 201
    assert given.get_json()["rating"] == 4
    timeline = client.get("/api/v1/me/timeline", headers=ann).get_json()["items"]
    assert timeline[0]["type"] == "order.feedback"
    assert timeline[0]["summary"] == f"Order {order['number']}: rated 4/5"
    for reader in (ann, store_world["staff"]):
        shown = client.get(f"/api/v1/orders/{order['id']}", headers=reader).get_json()["feedback"]
        assert (shown["rating"], shown["comment"]) == (4, "Ready on time; the mug was well wrapped.")
    again = assert_problem(_rate(client, order["id"], ann, rating=1), 409, "feedback_given")
    assert again["rating"] == 4
    assert _stored() == 1


def test_a_guest_rates_with_the_order_token(client, store_world):
    placed = picked_up(client, store_world, [("TEA", 1)])
    resp = _rate(client, placed["order"]["id"], {"X-Order-Token": placed["order_token"]}, rating=5)
    assert resp.status_code == 201 and resp.get_json()["comment"] is None
    assert_problem(_rate(client, placed["order"]["id"], {"X-Order-Token": "x" * 43}, rating=5), 404, "order_not_found")
    assert_problem(_rate(client, placed["order"]["id"], {}, rating=5), 401, "sign_in_required")


def test_an_order_not_collected_cannot_be_rated_and_staff_never_rate(client, store_world):
    placed = place(client, store_world)
    token = {"X-Order-Token": placed["order_token"]}
    problem = assert_problem(_rate(client, placed["order"]["id"], token, rating=5), 409, "order_not_collected")
    assert problem["status_now"] == "placed"
    collected = picked_up(client, store_world, [("MUG", 1)])
    assert_problem(_rate(client, collected["order"]["id"], store_world["staff"], rating=5), 403, "forbidden")
    assert _stored() == 0


@pytest.mark.parametrize("body", [{"rating": 0}, {"rating": 6}, {"rating": 4.5}, {"rating": "5"}, {"rating": True},
                                  {}, {"rating": 3, "comment": "x" * 2001}, {"rating": 3, "comment": 7},
                                  {"rating": 3, "stars": 3}])
def test_bad_feedback_is_a_422_that_stores_nothing(client, store_world, body):
    placed = picked_up(client, store_world, [("MUG", 1)])
    assert_problem(_rate(client, placed["order"]["id"], {"X-Order-Token": placed["order_token"]}, **body), 422,
                   "validation_error")
    assert _stored() == 0


def test_a_comment_of_2000_characters_is_kept_whole(client, store_world):
    placed = picked_up(client, store_world, [("MUG", 1)])
    comment = "é" * 2000
    resp = _rate(client, placed["order"]["id"], {"X-Order-Token": placed["order_token"]}, rating=2, comment=comment)
    assert resp.status_code == 201 and resp.get_json()["comment"] == comment
