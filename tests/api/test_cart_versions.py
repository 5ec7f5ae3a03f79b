"""Every cart change moves the ETag; a stale If-Match is a 412 and a malformed one a 400 or 412.

One table of changes (the hot add and every ORM change, claims included) run through the same
checks, so a change that forgets the version bump or the If-Match check fails here.
"""

from __future__ import annotations

import pytest

from shop.carts import coupons
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.carts import add, events_of, problem, sign_in


@pytest.fixture
def shop_(app):
    nyc, chi = f.store(code="NYC"), f.store(code="CHI")
    for sku in ("MUG", "TEA", "PEN"):
        f.product(sku=sku, price=1000)
    f.user(email="ann@example.com", password="ann-password")
    coupons.create({"code": "SAVE10", "kind": "percent", "value": 10})
    db.session.commit()
    return {"nyc": nyc.id, "chi": chi.id}


def url(cart_id: str, rest: str = "") -> str:
    return f"/api/v1/carts/{cart_id}{rest}"


def nothing(client, cart_id) -> tuple[dict, str | None]:
    return {}, None


def with_coupon(client, cart_id) -> tuple[dict, str | None]:
    assert client.post(url(cart_id, "/coupons"), json={"code": "SAVE10"}).status_code == 200
    return {}, None


def ann(client, cart_id) -> tuple[dict, str | None]:
    return sign_in(client, "ann@example.com", "ann-password"), None


def ann_with_a_cart(client, cart_id) -> tuple[dict, str | None]:
    who, _ = ann(client, cart_id)
    account_cart = client.get("/api/v1/me/cart", headers=who).get_json()["id"]
    assert add(client, account_cart, "PEN", 2, who).status_code == 200
    return who, account_cart


# name: (prepare, change). prepare returns the headers the change needs besides If-Match, and the
# account cart a claim merges into (if any); change(client, shop_, cart_id, headers) is the request.
CHANGES = {
    "add": (nothing, lambda c, s, cart_id, h: c.post(url(cart_id, "/lines"), json={"sku": "TEA", "quantity": 1},
                                                     headers=h)),
    "set_quantity": (nothing, lambda c, s, cart_id, h: c.patch(url(cart_id, "/lines/MUG"), json={"quantity": 3},
                                                               headers=h)),
    "remove": (nothing, lambda c, s, cart_id, h: c.delete(url(cart_id, "/lines/MUG"), headers=h)),
    "coupon_on": (nothing, lambda c, s, cart_id, h: c.post(url(cart_id, "/coupons"), json={"code": "SAVE10"},
                                                           headers=h)),
    "coupon_off": (with_coupon, lambda c, s, cart_id, h: c.delete(url(cart_id, "/coupons/SAVE10"), headers=h)),
    "pickup_store": (nothing, lambda c, s, cart_id, h: c.patch(url(cart_id), json={"pickup_store_id": s["chi"]},
                                                               headers=h)),
    "email": (nothing, lambda c, s, cart_id, h: c.patch(url(cart_id), json={"email": "guest@example.com"},
                                                        headers=h)),
    "claim": (ann, lambda c, s, cart_id, h: c.post(url(cart_id, "/claim"), headers=h)),
    "claim_and_merge": (ann_with_a_cart, lambda c, s, cart_id, h: c.post(url(cart_id, "/claim"), headers=h)),
}


def malformed(etag: str) -> list[str]:
    """If-Match values that are not a list of quoted entity tags, or name the ETag only weakly."""
    bare = etag.strip('"')
    return [bare, "", f'"{bare}', f"W/{etag}", f"{etag} {etag}", f"{bare}, {etag}", "cart-*"]


def state(client, cart_id: str, who: dict, account_cart: str | None) -> tuple:
    """What the shopper sees of the cart and of their account cart, and how many events each has."""
    seen = [client.get(url(cart_id))]
    if account_cart:
        seen.append(client.get(url(account_cart), headers=who))
    return tuple((r.status_code, r.get_json(), r.headers.get("ETag")) for r in seen) + (
        events_of(cart_id), account_cart and events_of(account_cart))


@pytest.mark.parametrize("name", CHANGES)
def test_a_change_moves_the_etag_and_honours_if_match(client, shop_, name):
    prepare, change = CHANGES[name]
    created = client.post("/api/v1/carts", json={"pickup_store_id": shop_["nyc"]})
    cart_id, stale = created.get_json()["id"], created.headers["ETag"]
    assert add(client, cart_id, "MUG", 2).status_code == 200
    who, account_cart = prepare(client, cart_id)
    before = state(client, cart_id, who, account_cart)
    etag = before[0][2]
    assert etag != stale

    for if_match in [stale, *malformed(etag)]:
        refused = change(client, shop_, cart_id, {**who, "If-Match": if_match})
        status, code = problem(refused)
        if if_match == stale:
            assert (status, code) == (412, "stale_cart")
        else:
            assert status in (400, 412), (if_match, status, code)
        assert state(client, cart_id, who, account_cart) == before, if_match

    done = change(client, shop_, cart_id, {**who, "If-Match": etag})
    assert done.status_code == 200, done.get_json()
    answered = done.get_json()["id"]
    assert answered == (account_cart or cart_id)
    assert done.headers["ETag"] != (before[1][2] if account_cart else etag)
    assert client.get(url(answered), headers=who).headers["ETag"] == done.headers["ETag"]


@pytest.mark.parametrize("name", ["add", "set_quantity", "email"])
def test_if_match_star_and_a_list_naming_the_etag_are_accepted(client, shop_, name):
    _, change = CHANGES[name]
    created = client.post("/api/v1/carts", json={})
    cart_id = created.get_json()["id"]
    assert add(client, cart_id, "MUG", 2).status_code == 200
    etag = client.get(url(cart_id)).headers["ETag"]
    assert change(client, shop_, cart_id, {"If-Match": f'"other", {etag}'}).status_code == 200
    assert change(client, shop_, cart_id, {"If-Match": "*"}).status_code == 200
