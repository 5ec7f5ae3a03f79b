"""GET /payments/attention: staff of the order's store and admins, paginated, problem+json errors."""

from __future__ import annotations

from shop.core.extensions import db
from shop.orders.models import Order, OrderEvent
from shop.payments import attention
from tests.support import factories as f
from tests.support.orders import cart_for, checkout
from tests.support.paging import walk
from tests.support.problems import assert_problem

URL = "/api/v1/payments/attention"


def flagged_orders(client, world, n: int) -> list[int]:
    ids = []
    for i in range(n):
        body = checkout(client, cart_for(client, world["store"], lines=(("TEA", 1),)), payment_method="card")
        order = db.session.get(Order, body.get_json()["order"]["id"])
        attention.flag(order.payment, f"Something to look at ({i})")
        ids.append(order.id)
    db.session.commit()
    return ids


def test_staff_of_the_store_see_its_payments_newest_first_page_by_page(client, store_world, gateway):
    ids = flagged_orders(client, store_world, 3)
    first = client.get(URL, query_string={"limit": 2}, headers=store_world["staff"]).get_json()
    assert [i["order_id"] for i in first["items"]] == [ids[2], ids[1]] and first["next_cursor"]
    item = first["items"][0]
    assert item["attention"] == "Something to look at (2)" and item["store_id"] == store_world["store"].id
    assert item["order_status"] == "pending_payment" and item["flagged_at"]
    rest = client.get(URL, query_string={"limit": 2, "cursor": first["next_cursor"]},
                      headers=store_world["staff"]).get_json()
    assert [i["order_id"] for i in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    mine = client.get(URL, query_string={"store_id": store_world["store"].id}, headers=store_world["staff"])
    assert len(mine.get_json()["items"]) == 3
    pages = walk(client, f"{URL}?limit=2", headers=store_world["staff"], limit=2)  # as a client follows Link
    assert [[i["order_id"] for i in page] for page in pages] == [[ids[2], ids[1]], [ids[0]]]


def test_other_stores_staff_see_nothing_of_it_and_admins_see_everything(client, store_world, gateway):
    flagged_orders(client, store_world, 1)
    assert client.get(URL, headers=store_world["other_staff"]).get_json()["items"] == []
    assert_problem(client.get(URL, query_string={"store_id": store_world["store"].id},
                              headers=store_world["other_staff"]), 403, "wrong_store")
    admin = f.bearer(f.user("admin"))
    assert len(client.get(URL, headers=admin).get_json()["items"]) == 1


def test_who_may_not_look_and_bad_input(client, store_world):
    assert_problem(client.get(URL), 401, "unauthorized")
    customer = f.bearer(f.user("customer"))
    assert_problem(client.get(URL, headers=customer), 403, "forbidden")
    assert_problem(client.get(URL, query_string={"cursor": "not-ours"}, headers=store_world["staff"]),
                   422, "invalid_cursor")
    assert_problem(client.get(URL, query_string={"limit": 0}, headers=store_world["staff"]), 422, "validation_error")


def resolve(client, payment_id: int, headers: dict, note: str = "Called the shopper: refunded at the till."):
    return client.post(f"{URL}/{payment_id}/resolution", json={"note": note}, headers=headers)


def test_staff_resolve_an_item_with_a_note_it_leaves_the_list_and_the_timeline_says_who(client, store_world, gateway):
    ids = flagged_orders(client, store_world, 2)
    listed = client.get(URL, headers=store_world["staff"]).get_json()["items"]
    payment_id = next(i["payment_id"] for i in listed if i["order_id"] == ids[0])
    done = resolve(client, payment_id, store_world["staff"])
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["resolution_note"] == "Called the shopper: refunded at the till." and body["resolved_at"]
    assert body["resolved_by_id"] == store_world["staff_user"].id
    assert [i["order_id"] for i in client.get(URL, headers=store_world["staff"]).get_json()["items"]] == [ids[1]]
    entry = db.session.scalars(db.select(OrderEvent).where(OrderEvent.order_id == ids[0],
                                                           OrderEvent.type == "payment_attention_resolved")).one()
    assert entry.detail == {"reason": "Something to look at (0)", "note": "Called the shopper: refunded at the till."}
    assert (entry.actor_type, entry.actor_id) == ("staff", store_world["staff_user"].id)
    assert_problem(resolve(client, payment_id, store_world["staff"]), 409, "attention_not_open")  # once


def test_a_resolved_item_stays_off_the_list_until_a_new_reason_is_flagged(client, store_world, gateway):
    [oid] = flagged_orders(client, store_world, 1)
    order = db.session.get(Order, oid)
    assert resolve(client, order.payment.id, store_world["staff"]).status_code == 200
    db.session.expire_all()
    attention.flag(order.payment, "Something to look at (0)")  # a sweep meets it again: nothing changes
    db.session.commit()
    assert client.get(URL, headers=store_world["staff"]).get_json()["items"] == []
    attention.flag(order.payment, "Something new")
    db.session.commit()
    assert [i["attention"] for i in client.get(URL, headers=store_world["staff"]).get_json()["items"]] == ["Something new"]


def test_resolving_refuses_other_stores_staff_unknown_payments_and_empty_notes(client, store_world, gateway):
    [oid] = flagged_orders(client, store_world, 1)
    payment_id = db.session.get(Order, oid).payment.id
    assert_problem(resolve(client, payment_id, store_world["other_staff"]), 404, "payment_not_found")
    assert_problem(resolve(client, 2**31 - 1, store_world["staff"]), 404, "payment_not_found")
    assert_problem(resolve(client, payment_id, store_world["staff"], note=""), 422, "validation_error")
    assert_problem(resolve(client, payment_id, f.bearer(f.user("customer"))), 403, "forbidden")
    assert len(client.get(URL, headers=store_world["staff"]).get_json()["items"]) == 1  # nothing changed
