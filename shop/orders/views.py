"""Checkout and pickup-order endpoints: the shopper's side and the store staff's side."""

from __future__ import annotations

from flask import Response, json
from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts import auth
from shop.accounts.actors import Actor, current_actor
from shop.core import idempotency, sweeps
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.orders import checkout, pickup
from shop.orders import payment_events as order_payments
from shop.orders import queries as orders
from shop.orders.models import ORDER_STATUSES
from shop.orders.schemas import (
    CancelSchema,
    CheckoutResultSchema,
    CheckoutSchema,
    HandoverSchema,
    OrderSchema,
    OrdersQuerySchema,
    PickSchema,
    QueueQuerySchema,
    RefundResultSchema,
    RefundSchema,
    StaffOrderSchema,
)
from stores.services import get_store

blp = Blueprint("orders", __name__, description="Checkout for pickup and the pickup order")

QUEUE_DEFAULT = ["pending_payment", "placed", "picking", "ready_for_pickup"]


def _json(body: dict, status: int) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def idempotent(scope: str, data: dict, run, schema, status: int = 201) -> Response:
    """Replay the first reply to this Idempotency-Key, or run, store the reply and commit."""
    claim = idempotency.claim(scope, idempotency.header_key(), data)
    if claim.replay is not None:
        return _json(*claim.replay)
    body = schema.dump(run())
    idempotency.store(claim.reply, body, status)
    db.session.commit()
    return _json(body, status)


IDEMPOTENCY_DOC = {"parameters": [{"in": "header", "name": "Idempotency-Key", "required": True,
                                   "schema": {"type": "string", "minLength": 1, "maxLength": 255}}]}


@blp.route("/carts/<cart:cart_id>/checkout")
class Checkout(MethodView):
    @blp.arguments(CheckoutSchema())
    @blp.response(201, CheckoutResultSchema)
    @blp.doc(**IDEMPOTENCY_DOC)
    def post(self, data, cart_id):
        """Reserve the cart's lines at its pickup store and place the order (replays are safe)."""

        def run():
            order, intent = checkout.place(cart_id, current_actor(), data, idempotency.header_key())
            return {
                "order": order,
                "payment": {"method": order.payment_method, "amount": order.total, "currency": order.currency,
                            "status": intent.status if intent else "due_at_pickup",
                            "client_secret": intent.client_secret if intent else None},
                "order_token": order.access_token,
                "pickup_code": order.pickup_code,
                "pickup_qr": orders.qr_payload(order),
            }

        return idempotent(f"checkout:{cart_id}", data, run, CheckoutResultSchema())


@blp.route("/orders/<int:order_id>")
class OrderItem(MethodView):
    @blp.response(200, OrderSchema)
    def get(self, order_id):
        """An order: its customer, a guest with X-Order-Token, or staff of its store."""
        order = orders.get_order(order_id)
        orders.check_access(order, current_actor_for_order())
        return order


def current_actor_for_order():
    """Staff reading an order act for its store; they need no X-Store-ID for that."""
    user = auth.current_user()
    if user is not None and user.role in ("staff", "admin"):
        return Actor("staff", user, "store")
    return current_actor()


@blp.route("/me/orders")
class MyOrders(MethodView):
    @auth.roles_required("customer")
    @blp.arguments(OrdersQuerySchema(), location="query")
    @blp.response(200, OrderSchema(many=True))
    def get(self, args):
        """My orders, newest first."""
        return orders.of_customer(auth.current_caller().id, args["limit"])


@blp.route("/orders/<int:order_id>/cancel")
class OrderCancel(MethodView):
    @blp.arguments(CancelSchema())
    @blp.response(200, OrderSchema)
    def post(self, data, order_id):
        """Cancel: the shopper until picking starts, staff until handover. Stock back, card voided."""
        actor = current_actor_for_order()
        order = orders.get_order(order_id, lock=True)
        orders.check_access(order, actor)
        due = pickup.cancel(order, actor, data["reason"])
        db.session.commit()
        sweeps.after_commit(order_payments.follow_up(due))  # the void, with no lock held
        return order


def _staff_order(order_id: int):
    caller = auth.require_role("staff", "admin")
    order = orders.get_order(order_id, lock=True)
    if not auth.is_staff_of(caller, order.store_id):
        raise DomainError(404, "order_not_found", f"No order {order_id}.")
    return order, Actor("staff", auth.current_user(), "store", order.store_id)


def _staff_view(order):
    order.at_risk_skus = orders.at_risk_skus(order)
    return order


def _staff_step(order_id: int, act):
    """Lock the order, check the caller is staff of its store, act, commit once."""
    order, actor = _staff_order(order_id)
    act(order, actor)
    db.session.commit()
    return _staff_view(order)


@blp.route("/stores/<int:store_id>/orders")
class PickupQueue(MethodView):
    @auth.store_staff_required
    @blp.arguments(QueueQuerySchema(), location="query")
    @blp.response(200, StaffOrderSchema(many=True))
    def get(self, args, store_id):
        """The store's pickup queue, oldest promise first, with lines at risk flagged."""
        get_store(store_id)
        statuses = [s.strip() for s in args["status"].split(",")] if "status" in args else QUEUE_DEFAULT
        unknown = [s for s in statuses if s not in ORDER_STATUSES]
        if unknown:
            raise DomainError(422, "unknown_status", f"Unknown status: {', '.join(unknown)}.")
        return [_staff_view(o) for o in orders.queue(store_id, statuses, args["limit"])]


@blp.route("/orders/<int:order_id>/picking")
class StartPicking(MethodView):
    @auth.roles_required("staff", "admin")
    @blp.response(200, StaffOrderSchema)
    def post(self, order_id):
        """placed -> picking."""
        return _staff_step(order_id, pickup.start_picking)


@blp.route("/orders/<int:order_id>/lines/<int:line_id>/pick")
class PickLine(MethodView):
    @auth.roles_required("staff", "admin")
    @blp.arguments(PickSchema())
    @blp.response(200, StaffOrderSchema)
    def put(self, data, order_id, line_id):
        """Record what was found; less than ordered is a short pick."""
        return _staff_step(order_id, lambda order, actor: pickup.pick_line(order, line_id, data["picked_quantity"],
                                                                            actor))


@blp.route("/orders/<int:order_id>/ready")
class MarkReady(MethodView):
    @auth.roles_required("staff", "admin")
    @blp.response(200, StaffOrderSchema)
    def post(self, order_id):
        """picking -> ready_for_pickup; sets the pickup deadline."""
        return _staff_step(order_id, pickup.mark_ready)


@blp.route("/orders/<int:order_id>/handover")
class Handover(MethodView):
    @auth.roles_required("staff", "admin")
    @blp.arguments(HandoverSchema())
    @blp.response(200, StaffOrderSchema)
    def post(self, data, order_id):
        """Verify the pickup code, capture what is handed over, take the stock out: picked_up.

        Three short transactions, so the provider is never called under a lock: check the code and
        mark the capture pending; capture; record it and take the stock out. A retry after a lost
        reply (the same code, the order already handed over) answers with the handover made.
        """
        order, actor = _staff_order(order_id)
        due = pickup.hand_over(order, data["pickup_code"], actor)
        db.session.commit()
        if due is not None:
            try:
                intent = pickup.capture(due)
            except pickup.CaptureFailed as failure:
                pickup.capture_failed(_staff_order(order_id)[0], failure)
            order, actor = _staff_order(order_id)
            pickup.captured(order, intent, actor)
            db.session.commit()
        return _staff_view(order)


@blp.route("/orders/<int:order_id>/refunds")
class Refunds(MethodView):
    @auth.roles_required("staff", "admin")
    @blp.arguments(RefundSchema())
    @blp.response(201, RefundResultSchema)
    @blp.doc(**IDEMPOTENCY_DOC)
    def post(self, data, order_id):
        """Refund returned lines after pickup; with restock, the units go back on the shelf."""

        def run():
            order, actor = _staff_order(order_id)
            return pickup.refund(order, data["lines"], data["restock"], actor)

        return idempotent(f"refund:{order_id}", data, run, RefundResultSchema())
