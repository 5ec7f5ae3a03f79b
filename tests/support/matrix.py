"""The authorization matrix's world and runner: every spec operation, called as each role on fresh objects.

The world holds two stores, two customers (A and B), a guest with the token of their own order,
staff of store 1 and of store 2, marketing and an admin. Each call gets objects made for it
through the API (a cart of A's at store 1, an order of A's in the state the operation needs, a
hold at store 1), so one role's success never changes what the next role meets. The expected
statuses live in one table in tests/api/test_authorization_matrix.py.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from shop.accounts import service as accounts
from shop.accounts.models import User
from shop.carts.models import Cart
from shop.core.extensions import db, limiter
from tests.support import factories as f

ROLES = ("anonymous", "customer_a", "customer_b", "guest", "staff_1", "staff_2", "marketing", "admin")
# A row may name a variant after the operation: "METHOD /path replay" (the owner's Idempotency-Key
# sent again by the role), "... of the guest" (the guest's own order, the guest role holding its
# token), "... contact" (a customer's email changed).
REPLAY, OF_THE_GUEST, CONTACT = " replay", " of the guest", " contact"
VARIANTS = (REPLAY, OF_THE_GUEST, CONTACT)
ENDS_THE_TOKEN = {"DELETE /auth/tokens/current"}
# Erasure ends an account: it is tried on a customer made for that one call (as the caller for
# DELETE /me, as the one erased for DELETE /customers/{id}), never on A or B.
ERASES_THE_CALLER, ERASES_THE_CUSTOMER = "DELETE /me", "DELETE /customers/{customer_id}"
QUERY = {  # the query a read needs to be a read at all
    "GET /customers": "?q=a@example",
    "GET /stores/{store_id}/stock": "?skus=MUG",
    "GET /availability": "?sku=MUG",
}
PASSWORD = "matrix-password"
UNSUBSCRIBE = ("GET /unsubscribe/", "POST /unsubscribe/")
CONFIRM = ("GET /consent/confirm/", "POST /consent/confirm/")
_seq = itertools.count(1)


def spec_operations(spec: dict) -> list[str]:
    """Every operation of the spec as "METHOD /path" (the prefix /api/v1 left out)."""
    return [f"{method.upper()} {path.removeprefix('/api/v1')}"
            for path, item in spec["paths"].items() for method in item if method != "parameters"]


def base_operation(row: str) -> str:
    for variant in VARIANTS:
        if row.endswith(variant):
            return row.removesuffix(variant)
    return row


def parse_row(text: str) -> dict[str, int]:
    """One table row, a status per role in ROLES order: "401 200 404 401 200 404 403 200"."""
    statuses = [int(s) for s in text.split()]
    assert len(statuses) == len(ROLES), f"{text!r}: {len(ROLES)} statuses, one per role in {ROLES}"
    return dict(zip(ROLES, statuses, strict=True))


@dataclass
class World:
    client: object
    store_1: object
    store_2: object
    users: dict
    headers: dict = field(default_factory=dict)
    coupon: str = "MATRIX10"
    prefix: str = "/api/v1"  # where the operations are called (the test of the test mounts a leaky copy)

    # -- objects made fresh for each call --------------------------------------------------------

    def _as(self, role: str) -> dict:
        return self.headers[role]

    def cart_of_a(self, *, coupon: bool = False) -> str:
        """A's one active cart, new: at store 1 with a MUG (earlier ones are put aside first)."""
        db.session.execute(db.update(Cart).where(Cart.customer_id == self.users["customer_a"].id,
                                                 Cart.status == "active").values(status="expired"))
        db.session.commit()
        a = self._as("customer_a")
        cart = self.client.post("/api/v1/carts", json={"pickup_store_id": self.store_1.id}, headers=a).get_json()
        self._ok(self.client.post(f"/api/v1/carts/{cart['id']}/lines", json={"sku": "MUG", "quantity": 1},
                                  headers=a))
        if coupon:
            self._ok(self.client.post(f"/api/v1/carts/{cart['id']}/coupons", json={"code": self.coupon}, headers=a))
        return cart["id"]

    def guest_cart(self) -> str:
        cart = self.client.post("/api/v1/carts", json={"pickup_store_id": self.store_1.id}).get_json()
        self._ok(self.client.post(f"/api/v1/carts/{cart['id']}/lines", json={"sku": "MUG", "quantity": 1}))
        return cart["id"]

    def order_of_a(self, status: str = "placed") -> dict:
        """A checkout of A's at store 1 (pay at store), moved by store 1's staff to `status`."""
        cart_id = self.cart_of_a()
        placed = self.client.post(f"/api/v1/carts/{cart_id}/checkout", json={"payment_method": "pay_at_store"},
                                  headers={**self._as("customer_a"), "Idempotency-Key": uuid.uuid4().hex})
        body = self._ok(placed)
        order, staff = body["order"], self._as("staff_1")
        steps = {"placed": [], "picking": ["picking"], "ready_for_pickup": ["picking", "ready"],
                 "picked_up": ["picking", "ready", "handover"]}[status]
        for step in steps:
            payload = {"pickup_code": body["pickup_code"]} if step == "handover" else None
            self._ok(self.client.post(f"/api/v1/orders/{order['id']}/{step}", json=payload or {}, headers=staff))
        return {**order, "pickup_code": body["pickup_code"]}

    def guest_order(self) -> dict:
        """A guest's checkout at store 1, with the order token the guest holds."""
        resp = self.client.post(f"/api/v1/carts/{self.guest_cart()}/checkout",
                                json={"payment_method": "pay_at_store", "email": "guest@example.com"},
                                headers={"Idempotency-Key": uuid.uuid4().hex})
        body = self._ok(resp)
        return {**body["order"], "order_token": body["order_token"]}

    def hold_at_store_1(self) -> int:
        resp = self.client.post(f"/api/v1/stores/{self.store_1.id}/reservations",
                                json={"lines": [{"sku": "MUG", "quantity": 1}]}, headers=self._as("staff_1"))
        return self._ok(resp)["id"]

    def recovery_token(self) -> str:
        cart_id = self.cart_of_a()
        return self._ok(self.client.post(f"/api/v1/carts/{cart_id}/recovery-links",
                                         headers=self._as("customer_a")))["token"]

    def failed_message(self) -> int:
        """A message about A's order at store 1 that failed (no API makes one: the outbox's row)."""
        from notifications.models import Message

        message = Message(dedupe_key=_unique(), template="order_placed", channel="email", purpose="transactional",
                          to_address="a@example.com", customer_id=self.users["customer_a"].id,
                          store_id=self.store_1.id, status="failed", reason="matrix")
        db.session.add(message)
        db.session.commit()
        return message.id

    def flagged_payment(self) -> int:
        """A payment of an order of A's at store 1 on the attention list (only sweeps flag one)."""
        from shop.orders.models import Order
        from shop.payments import attention
        from shop.payments.models import Payment

        order = db.session.get(Order, self.order_of_a()["id"])
        payment = Payment(order_id=order.id, intent_id=f"pi_{_unique()}", status="requires_capture")
        db.session.add(payment)
        attention.flag(payment, "matrix")
        db.session.commit()
        return payment.id

    def stock_alert(self) -> str:
        """The id of a guest's back-in-stock alert at store 1 (the id is the key to cancel it)."""
        resp = self.client.post(f"/api/v1/stores/{self.store_1.id}/stock-alerts",
                                json={"sku": "GONE", "email": f"{_unique().lower()}@example.com"})
        return self._ok(resp)["id"]

    def campaign(self, status: str = "draft") -> int:
        """A campaign of its own for the call (a draft, or active for a pause)."""
        from notifications.campaigns.models import Campaign

        campaign = Campaign(name=_unique(), trigger="cart_abandoned", status=status, audience={}, exit_on=[],
                            steps=[{"delay_minutes": 60, "channel": "email", "template": "abandoned_cart_1",
                                    "incentive": None}])
        db.session.add(campaign)
        db.session.commit()
        return campaign.id

    def unsubscribe_token(self) -> str:
        """The token of the link in A's marketing emails (the signed link is the key)."""
        from notifications.unsubscribe import make_url

        return make_url("email", "a@example.com").rsplit("/", 1)[1]

    def confirmation_token(self) -> str:
        """The token of a new confirmation link for A's yes to offers by email (double opt-in)."""
        from notifications import opt_in

        pending = opt_in.request_confirmation("web", "Offers by email", customer_id=self.users["customer_a"].id,
                                              email="a@example.com")
        db.session.commit()
        return opt_in.make_url(pending).rsplit("/", 1)[1]

    def role_headers(self, role: str, operation: str) -> dict:
        """The role's headers; a new token for an operation that ends the caller's token (sign-out)."""
        headers = self.headers[role]
        if operation in ENDS_THE_TOKEN and role in self.users:
            headers = {**headers, **f.bearer(self.users[role])}
        if operation == ERASES_THE_CALLER and role.startswith("customer_"):
            headers = f.bearer(self.throwaway_customer())
        return headers

    def throwaway_customer(self) -> User:
        customer = f.user(email=f"{_unique().lower()}@example.com", password=PASSWORD)
        db.session.commit()
        return customer

    @staticmethod
    def _ok(resp) -> dict:
        assert resp.status_code < 300, (resp.status_code, resp.get_data(as_text=True))
        return resp.get_json()


def build_world(client) -> World:
    """Stores, stock, the accounts of every role and their headers (staff at their own counter)."""
    store_1, store_2 = f.store(code="ONE"), f.store(code="TWO")
    for sku, price in (("MUG", 1200), ("TEA", 500)):
        product = f.product(sku=sku, price=price)
        f.stock(store_1, product, 10_000)
        f.stock(store_2, product, 10_000)
    f.product(sku="GONE", price=900)  # none at any store: what back-in-stock alerts are for
    users = {
        "customer_a": f.user(email="a@example.com", password=PASSWORD),
        "customer_b": f.user(email="b@example.com", password=PASSWORD),
        "staff_1": f.user("staff", [store_1]),
        "staff_2": f.user("staff", [store_2]),
        "marketing": f.user("marketing"),
        "admin": f.user("admin"),
    }
    from shop.carts import coupons

    coupons.create({"code": "MATRIX10", "kind": "percent", "value": 10})
    db.session.commit()
    world = World(client, store_1, store_2, users)
    counter = {"staff_1": store_1.id, "staff_2": store_2.id, "admin": store_1.id}
    for role, user in users.items():
        world.headers[role] = {**f.bearer(user), **({"X-Store-ID": str(counter[role])} if role in counter else {})}
    world.headers["anonymous"] = {}
    world.headers["guest"] = {"X-Order-Token": world.guest_order()["order_token"]}
    return world


# -- how each operation is called: its path arguments and body, made for one call ------------------


@dataclass
class Call:
    path: str
    body: dict | None = None
    headers: dict = field(default_factory=dict)
    owner: str | None = None  # for a replay: who sends the key first
    guest_headers: dict | None = None  # the guest role's headers when the object is the guest's own


_PARAM = re.compile(r"{([^}]+)}")
ORDER_STATE = {  # what an order must be for the operation to be possible at all
    "POST /orders/{order_id}/picking": "placed",
    "PUT /orders/{order_id}/lines/{line_id}/pick": "picking",
    "POST /orders/{order_id}/ready": "picking",
    "POST /orders/{order_id}/handover": "ready_for_pickup",
    "POST /orders/{order_id}/refunds": "picked_up",
    "POST /orders/{order_id}/feedback": "picked_up",
}


def _unique() -> str:
    return f"M{next(_seq):05d}"


def _body(operation: str, world: World, args: dict, order: dict | None) -> dict | None:
    """A valid body, so a status says who may act, not what was mistyped."""
    n = _unique()
    line = order["lines"][0] if order else None
    bodies: dict[str, Callable[[], dict]] = {
        "POST /auth/tokens": lambda: {"email": "a@example.com", "password": PASSWORD},
        "POST /customers": lambda: {"email": f"{n.lower()}@example.com", "password": PASSWORD, "name": "New"},
        "PATCH /me": lambda: {"name": "Renamed"},
        "DELETE /me": lambda: {"password": PASSWORD},
        "POST /me/email-verification": lambda: {"token": accounts.verification_token(world.users["customer_a"])},
        "POST /stores": lambda: {"code": n, "name": "New store", "latitude": 1, "longitude": 1, "timezone": "UTC"},
        "PATCH /stores/{store_id}": lambda: {"name": "Renamed store"},
        "POST /products": lambda: {"sku": n, "name": "New product", "price": 100, "currency": "USD"},
        "PATCH /products/{sku}": lambda: {"name": "Renamed product"},
        "PATCH /stores/{store_id}/stock/{sku}": lambda: {"safety_stock": 0},
        "POST /stores/{store_id}/stock-events": lambda: {"event_id": n, "type": "receipt",
                                                          "lines": [{"sku": "MUG", "quantity": 1}]},
        "POST /stores/{store_id}/reservations": lambda: {"lines": [{"sku": "MUG", "quantity": 1}]},
        "POST /carts": lambda: {"pickup_store_id": world.store_1.id},
        "PATCH /carts/{cart_id}": lambda: {"pickup_store_id": world.store_1.id},
        "POST /carts/{cart_id}/lines": lambda: {"sku": "TEA", "quantity": 1},
        "PATCH /carts/{cart_id}/lines/{sku}": lambda: {"quantity": 2},
        "POST /carts/{cart_id}/coupons": lambda: {"code": world.coupon},
        "POST /coupons": lambda: {"code": n, "kind": "percent", "value": 5},
        "POST /stores/{store_id}/stock-alerts": lambda: {"sku": "GONE", "email": f"{n.lower()}@example.com"},
        "PATCH /coupons/{code}": lambda: {"max_uses": 1_000_000},
        "POST /campaigns": lambda: {"name": n, "trigger": "cart_abandoned", "steps": [
            {"delay_minutes": 60, "channel": "email", "template": "abandoned_cart_1"}]},
        "PATCH /campaigns/{campaign_id}": lambda: {"name": f"Renamed {n}"},
        "POST /campaigns/{campaign_id}/test-send": lambda: {"email": "marketer@example.com", "step": 1},
        "POST /carts/{cart_id}/checkout": lambda: {"payment_method": "pay_at_store"},
        "PUT /me/preferences": lambda: {"email_marketing": False, "wording": "No offers, thanks."},
        "POST /stores/{store_id}/customers/{customer_id}/consents": lambda: {
            "channel": "sms", "purpose": "marketing", "state": "withdrawn", "wording": "No offers by text."},
        "POST /orders/{order_id}/cancel": lambda: {"reason": "matrix"},
        "POST /orders/{order_id}/feedback": lambda: {"rating": 5, "comment": "Quick and friendly."},
        "PUT /orders/{order_id}/lines/{line_id}/pick": lambda: {"picked_quantity": line["quantity"]},
        "POST /orders/{order_id}/handover": lambda: {"pickup_code": order["pickup_code"]},
        "POST /orders/{order_id}/refunds": lambda: {"lines": [{"line_id": line["id"], "quantity": 1}],
                                                    "restock": False},
        "POST /payments/attention/{payment_id}/resolution": lambda: {"note": "Called the shopper."},
    }
    if operation.endswith(CONTACT):
        return {"email": f"{n.lower()}@example.com"}
    make = bodies.get(base_operation(operation))
    return make() if make else None


def _path_args(operation: str, world: World) -> tuple[dict, dict | None]:
    """Fresh objects for the path's arguments: A's cart, A's order, store 1, a hold there."""
    op = base_operation(operation)
    names = set(_PARAM.findall(op))
    args: dict = {}
    order = None
    if "order_id" in names:
        order = world.guest_order() if operation.endswith(OF_THE_GUEST) else world.order_of_a(ORDER_STATE.get(op, "placed"))
        args["order_id"] = order["id"]
        args["line_id"] = order["lines"][0]["id"]
    if "cart_id" in names:
        args["cart_id"] = (world.guest_cart() if op == "POST /carts/{cart_id}/claim"
                           else world.cart_of_a(coupon=op == "DELETE /carts/{cart_id}/coupons/{code}"))
    if "store_id" in names:
        args["store_id"] = world.store_1.id
    if "customer_id" in names:
        args["customer_id"] = (world.throwaway_customer() if op == ERASES_THE_CUSTOMER else world.users["customer_a"]).id
    if "sku" in names:
        args["sku"] = "MUG"
    if "code" in names:
        args["code"] = world.coupon
    if "reservation_id" in names:
        args["reservation_id"] = world.hold_at_store_1()
    if "token" in names:
        args["token"] = (world.unsubscribe_token() if op.startswith(UNSUBSCRIBE) else
                         world.confirmation_token() if op.startswith(CONFIRM) else world.recovery_token())
    if "alert_id" in names:
        args["alert_id"] = world.stock_alert()
    if "message_id" in names:
        args["message_id"] = world.failed_message()
    if "payment_id" in names:
        args["payment_id"] = world.flagged_payment()
    if "template" in names:
        args["template"] = "order_placed"
    if "campaign_id" in names:
        args["campaign_id"] = world.campaign("active" if op.endswith("/pause") else "draft")
    missing = names - set(args)
    assert not missing, f"{op}: tests/support/matrix.py does not know how to make {sorted(missing)}"
    return args, order


REPLAY_OWNER = {"POST /carts/{cart_id}/checkout": "customer_a", "POST /orders/{order_id}/refunds": "staff_1"}


def call_for(operation: str, world: World) -> Call:
    args, order = _path_args(operation, world)
    base = base_operation(operation)
    method, template = base.split(" ", 1)
    path = world.prefix + _PARAM.sub(lambda m: str(args[m.group(1)]), template) + QUERY.get(base, "")
    call = Call(path, _body(operation, world, args, order))
    if template.endswith(("/checkout", "/refunds")):
        call.headers["Idempotency-Key"] = uuid.uuid4().hex
    if operation.endswith(REPLAY):
        call.owner = REPLAY_OWNER[base]
    if operation.endswith(OF_THE_GUEST):
        call.guest_headers = {"X-Order-Token": order["order_token"]}
    return call


def run(world: World, operations: Iterable[str], expected: dict[str, dict[str, int]]) -> list[str]:
    """Call every operation as every role on fresh objects; each answer unlike the table, described."""
    differences = []
    for operation in operations:
        method = operation.split(" ", 1)[0]
        for role in ROLES:
            limiter.reset()  # the abuse limits are tested on their own; here every call must be judged
            call = call_for(operation, world)
            if call.owner is not None:
                first = world.client.open(call.path, method=method, json=call.body,
                                          headers={**world.headers[call.owner], **call.headers})
                assert first.status_code == 201, (operation, first.get_data(as_text=True))
            headers = call.guest_headers if role == "guest" and call.guest_headers else world.role_headers(role, operation)
            resp = world.client.open(call.path, method=method, json=call.body, headers={**headers, **call.headers})
            want = expected.get(operation, {}).get(role)
            if resp.status_code != want:
                code = (resp.get_json(silent=True) or {}).get("code", "") if resp.status_code >= 400 else ""
                differences.append(f"{operation} as {role}: {resp.status_code} {code} (table says {want})")
    return differences


def missing_rows(spec: dict, expected: dict) -> list[str]:
    """Spec operations the table forgot (a new endpoint must get its row), and rows for none."""
    operations = set(spec_operations(spec))
    rows = {base_operation(op) for op in expected}
    return ([f"no row for {op}" for op in sorted(operations - set(expected))]
            + [f"row for an operation not in the spec: {op}" for op in sorted(rows - operations)])
