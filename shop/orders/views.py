"""Checkout and pickup-order endpoints: the shopper's side and the store staff's side."""

from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts import auth
from shop.accounts.actors import Actor, current_actor
from shop.carts import service as carts
from shop.core import idempotency, rate_limits
from shop.core.error_codes import ACTOR, CART_ACCESS, COUPON_RULES, IDEMPOTENCY, ORDER_MOVE
from shop.core.errors import DomainError
from shop.core.http import headers, problems
from shop.core.pagination import PAGE_HEADERS
from shop.core.transactions import transactional
from shop.orders import checkout, handover, pickup, refunds
from shop.orders import feedback as order_feedback
from shop.orders import queries as orders
from shop.orders.models import ORDER_STATUSES
from shop.orders.schemas import (
    CancelSchema,
    CheckoutResultSchema,
    CheckoutSchema,
    FeedbackSchema,
    HandoverSchema,
    OrderSchema,
    OrdersQuerySchema,
    PickSchema,
    QueueQuerySchema,
    RefundResultSchema,
    RefundSchema,
    ShopperOrderSchema,
    StaffOrderSchema,
)
from stores.services import get_store

blp = Blueprint("orders", __name__, description="Checkout for pickup and the pickup order")

QUEUE_DEFAULT = ["pending_payment", "placed", "picking", "ready_for_pickup"]


def _may_check_out(cart_id: str) -> None:
    """Before a checkout is replayed: the caller may still reach this cart (whatever its status)."""
    carts.check_reach(cart_id, current_actor())


def _calls_no_provider(data: dict) -> bool:
    """A checkout paid at the store calls no provider before it locks the cart, which it converts
    once: it may claim its Idempotency-Key with its last write (shop.core.transactions). By card,
    the PaymentIntent is created first, so the key is claimed first and a twin waits on it."""
    return data["payment_method"] == "pay_at_store"


@blp.route("/carts/<cart:cart_id>/checkout")
class Checkout(MethodView):
    decorators = [rate_limits.limit("CHECKOUT_RATE_LIMIT", methods=["POST"])]

    @blp.arguments(CheckoutSchema())
    @transactional(idempotent="checkout:{cart_id}", access=_may_check_out, checked_in_view=True,  # the bump checks
                   together=True,  # its events, its message and its reply: one statement
                   claim_last=_calls_no_provider)
    @blp.response(201, CheckoutResultSchema)
    @headers("X-Channel", "X-Store-ID")
    @problems(*IDEMPOTENCY, *ACTOR, *CART_ACCESS, *COUPON_RULES, "store_not_found", "cart_empty", "unknown_sku",
              "pickup_store_required", "pickup_disabled", "pay_at_store_unavailable", "card_unavailable",
              "email_required", "sms_choice_required", "insufficient_stock", "payment_provider_unavailable",
              "cart_changed", "rate_limited")
    def post(self, data, cart_id):
        """Reserve the cart's lines at its pickup store and place the order (replays are safe)."""
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


@blp.route("/orders/<int:order_id>")
class OrderItem(MethodView):
    @blp.response(200, ShopperOrderSchema)
    @headers("X-Channel", "X-Store-ID", "X-Order-Token")
    @problems(*ACTOR, "order_not_found", "sign_in_required")
    def get(self, order_id):
        """An order: its customer or a guest with X-Order-Token (who see the pickup code), or its store's staff."""
        order, actor = orders.get_order(order_id), current_actor_for_order()
        orders.check_access(order, actor)
        order.feedback = order_feedback.of_order(order.id)
        return jsonify((OrderSchema if actor.kind == "staff" else ShopperOrderSchema)().dump(order))


@blp.route("/orders/<int:order_id>/feedback")
class OrderFeedbackItem(MethodView):
    @blp.arguments(FeedbackSchema())
    @transactional
    @blp.response(201, FeedbackSchema)
    @headers("X-Channel", "X-Store-ID", "X-Order-Token")
    @problems(*ACTOR, "order_not_found", "sign_in_required", "order_not_collected", "feedback_given")
    def post(self, data, order_id):
        """Rate a collected order (1-5, an optional comment): its customer or a guest with X-Order-Token, once."""
        actor = current_actor_for_order()
        order = orders.get_order(order_id, lock=True)
        orders.check_access(order, actor)
        return order_feedback.give(order, actor, data["rating"], data["comment"])


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
    @blp.response(200, ShopperOrderSchema(many=True), headers=PAGE_HEADERS)
    def get(self, args):
        """My orders, newest first, each with its pickup code; the next page is in the `Link` header."""
        page = orders.of_customer(auth.current_caller().id, args["limit"], args.get("cursor"))
        return page.items, page.headers


@blp.route("/orders/<int:order_id>/cancel")
class OrderCancel(MethodView):
    @blp.arguments(CancelSchema())
    @transactional
    @blp.response(200, OrderSchema)
    @headers("X-Channel", "X-Store-ID", "X-Order-Token")
    @problems(*ACTOR, *ORDER_MOVE, "order_not_found", "sign_in_required", "capture_in_progress")
    def post(self, data, order_id):
        """Cancel: the shopper until picking starts, staff until handover. Stock back, then (after the
        commit) the card's authorisation voided; refused while a capture is in flight."""
        actor = current_actor_for_order()
        order = orders.get_order(order_id, lock=True)
        orders.check_access(order, actor)
        pickup.cancel(order, actor, data["reason"])
        return order


def _staff_order(order_id: int, *, lock: bool = True):
    caller = auth.require_role("staff", "admin")
    order = orders.get_order(order_id, lock=lock)
    if not auth.is_staff_of(caller, order.store_id):
        raise DomainError("order_not_found", f"No order {order_id}.")
    return order, Actor("staff", auth.current_user(), "store", order.store_id)


def _staff_view(orders_: list) -> list:
    """The orders as staff see them: with the SKUs at risk (one query for the lot)."""
    at_risk = orders.at_risk_skus(orders_)
    for order in orders_:
        order.at_risk_skus = at_risk[order.id]
    return orders_


def _staff_step(order_id: int, act):
    """Lock the order, check the caller is staff of its store, act (the view's transaction commits)."""
    order, actor = _staff_order(order_id)
    act(order, actor)
    return _staff_view([order])[0]


@blp.route("/stores/<int:store_id>/orders")
class PickupQueue(MethodView):
    @auth.store_staff_required
    @blp.arguments(QueueQuerySchema(), location="query")
    @blp.response(200, StaffOrderSchema(many=True), headers=PAGE_HEADERS)
    @problems("store_not_found", "unknown_status")
    def get(self, args, store_id):
        """The store's pickup queue, oldest promise first, with lines at risk flagged.

        The next page is in the `Link` header.
        """
        get_store(store_id)
        statuses = [s.strip() for s in args["status"].split(",")] if "status" in args else QUEUE_DEFAULT
        unknown = [s for s in statuses if s not in ORDER_STATUSES]
        if unknown:
            raise DomainError("unknown_status", f"Unknown status: {', '.join(unknown)}.")
        page = orders.queue(store_id, statuses, args["limit"], args.get("cursor"))
        return _staff_view(page.items), page.headers


@blp.route("/orders/<int:order_id>/picking")
class StartPicking(MethodView):
    @auth.roles_required("staff", "admin")
    @transactional
    @blp.response(200, StaffOrderSchema)
    @problems(*ORDER_MOVE, "order_not_found")
    def post(self, order_id):
        """placed -> picking."""
        return _staff_step(order_id, pickup.start_picking)


@blp.route("/orders/<int:order_id>/lines/<int:line_id>/pick")
class PickLine(MethodView):
    @auth.roles_required("staff", "admin")
    @blp.arguments(PickSchema())
    @transactional
    @blp.response(200, StaffOrderSchema)
    @problems("order_not_found", "illegal_transition", "line_not_found", "picked_too_many", "units_released",
              "reservation_not_active", "units_not_reserved")
    def put(self, data, order_id, line_id):
        """Record what was found; less than ordered is a short pick."""
        return _staff_step(order_id, lambda order, actor: pickup.pick_line(order, line_id, data["picked_quantity"],
                                                                            actor))


@blp.route("/orders/<int:order_id>/ready")
class MarkReady(MethodView):
    @auth.roles_required("staff", "admin")
    @transactional
    @blp.response(200, StaffOrderSchema)
    @problems(*ORDER_MOVE, "order_not_found", "nothing_picked")
    def post(self, order_id):
        """picking -> ready_for_pickup; sets the pickup deadline."""
        return _staff_step(order_id, pickup.mark_ready)


@blp.route("/orders/<int:order_id>/handover")
class Handover(MethodView):
    decorators = [rate_limits.limit("PICKUP_CODE_RATE_LIMIT", failures_only=True, methods=["POST"])]

    @auth.roles_required("staff", "admin")
    @blp.arguments(HandoverSchema())
    @transactional
    @blp.response(200, StaffOrderSchema)
    @problems(*ORDER_MOVE, "order_not_found", "pickup_locked", "wrong_pickup_code", "capture_failed",
              "reservation_not_active", "rate_limited")
    def post(self, data, order_id):
        """Verify the pickup code, capture what is handed over, take the stock out: picked_up.

        By card, in two transactions with the capture between them, so the provider is never
        called under a lock: check the code and mark the capture pending (committed); capture; lock
        the order again, record the capture and take the stock out. A retry after a lost reply
        (the same code, the order already handed over) answers with the handover made.
        """
        order = handover.hand_over(lambda: _staff_order(order_id), data["pickup_code"])
        return _staff_view([order])[0]


@blp.route("/orders/<int:order_id>/refunds")
class Refunds(MethodView):
    @auth.roles_required("staff", "admin")
    @blp.arguments(RefundSchema())
    @transactional(idempotent=refunds.SCOPE, access=lambda order_id: _staff_order(order_id, lock=False))
    @blp.response(201, RefundResultSchema)
    @problems(*IDEMPOTENCY, "order_not_found", "illegal_transition", "line_not_found", "refund_too_many",
              "nothing_to_refund", "refund_failed", "refund_in_progress", "event_id_reused")
    def post(self, data, order_id):
        """Refund returned lines after pickup; with restock, the units go back on the shelf.

        By card, in two transactions with Stripe's refund between them, so the provider is never
        called under a lock: the refund in flight is committed first (another refund of the order
        meanwhile: 409 `refund_in_progress`), then made, then recorded under the lock again."""
        return refunds.refund(lambda: _staff_order(order_id), data["lines"], data["restock"])
