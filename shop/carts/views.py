"""Cart endpoints: one cart from any device; every response carries the cart's ETag."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, current_app, jsonify, redirect, request
from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts import auth
from shop.accounts.actors import Actor, current_actor
from shop.accounts.models import User
from shop.carts import adds as cart_adds
from shop.carts import claims as cart_claims
from shop.carts import recovery as cart_recovery
from shop.carts import service as carts
from shop.carts.models import Cart
from shop.carts.pricing import priced
from shop.carts.schemas import (
    CartCreateSchema,
    CartPatchSchema,
    CartSchema,
    CouponCodeSchema,
    LineAddSchema,
    LineQuantitySchema,
    RecoveredCartSchema,
    RecoveryLinkSchema,
)
from shop.carts.snapshot import CartSnapshot
from shop.core import events, rate_limits
from shop.core.error_codes import ACTOR, CART_ACCESS, COUPON_RULES
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.http import headers, problems
from shop.core.transactions import transactional

blp = Blueprint("carts", __name__, description="One cart across web, app and the store counter")

CART_DOC = {"headers": {"ETag": {"description": "The cart's version; send it back in If-Match",
                                 "schema": {"type": "string"}}}}


def respond(cart: Cart | CartSnapshot, status: int = 200) -> Response:
    """The priced cart and its ETag; an ORM cart is read back (flushed) as its snapshot first.

    Serialized here rather than by CartSchema: `priced` already builds the schema's shape (the
    contract test holds every cart response to the spec), and dumping it again cost ~7% of an
    add to cart (docs/performance.md).
    """
    view = cart if isinstance(cart, CartSnapshot) else carts.snapshot(cart)
    body = priced(view)
    body["last_activity_at"] = body["last_activity_at"].isoformat()
    reply = jsonify(body)
    reply.status_code = status
    reply.headers["ETag"] = f'"{carts.etag(view)}"'
    return reply


def change(cart_id: str, apply: Callable[[Cart, Actor], object]):
    """Bump (lock, check If-Match), apply, read back: the one path every cart change takes (its view commits)."""
    actor = current_actor()
    cart = carts.begin_change(cart_id, actor, request.headers.get("If-Match"))
    apply(cart, actor)
    return respond(cart)


@blp.route("/carts")
class Carts(MethodView):
    @blp.arguments(CartCreateSchema())
    @transactional
    @blp.response(201, CartSchema, headers=CART_DOC["headers"])
    @blp.alt_response(200, schema=CartSchema, description="A signed-in customer's existing cart")
    @headers("X-Channel", "X-Store-ID")
    @problems(*ACTOR, "store_not_found")
    def post(self, data):
        """Start a cart; a signed-in customer gets their one active cart."""
        cart, created = carts.open_cart(current_actor(), data.get("pickup_store_id"))
        return respond(cart, 201 if created else 200)


@blp.route("/carts/<cart:cart_id>")
class CartItem(MethodView):
    @blp.response(200, CartSchema, headers=CART_DOC["headers"])
    @headers("X-Channel", "X-Store-ID")
    @problems(*ACTOR, *CART_ACCESS)
    def get(self, cart_id):
        """The cart with current prices, totals and availability at the pickup store."""
        return respond(carts.read_cart(cart_id, current_actor()))

    @blp.arguments(CartPatchSchema())
    @transactional
    @blp.response(200, CartSchema, headers=CART_DOC["headers"])
    @headers("X-Channel", "X-Store-ID", "If-Match")
    @problems(*ACTOR, *CART_ACCESS, "stale_cart", "bad_if_match", "store_not_found", "pickup_disabled")
    def patch(self, data, cart_id):
        """Choose the pickup store; give a guest's email or phone."""
        return change(cart_id, lambda cart, actor: carts.update_details(cart, data, actor))


@blp.route("/carts/<cart:cart_id>/lines")
class CartLines(MethodView):
    @blp.arguments(LineAddSchema())
    @transactional
    @blp.response(200, CartSchema, headers=CART_DOC["headers"])
    @headers("X-Channel", "X-Store-ID", "If-Match")
    @problems(*ACTOR, *CART_ACCESS, "stale_cart", "bad_if_match", "unknown_sku", "quantity_too_large", "too_many_lines",
              "currency_mismatch")
    def post(self, data, cart_id):
        """Add units of a SKU (to its existing line if there is one)."""
        cart = cart_adds.add_line(cart_id, data["sku"], data["quantity"], current_actor(),
                                  request.headers.get("If-Match"))
        return respond(cart)


@blp.route("/carts/<cart:cart_id>/lines/<string:sku>")
class CartLine(MethodView):
    @blp.arguments(LineQuantitySchema())
    @transactional
    @blp.response(200, CartSchema, headers=CART_DOC["headers"])
    @headers("X-Channel", "X-Store-ID", "If-Match")
    @problems(*ACTOR, *CART_ACCESS, "stale_cart", "bad_if_match", "line_not_found", "unknown_sku")
    def patch(self, data, cart_id, sku):
        """Set a line's quantity."""
        return change(cart_id, lambda cart, actor: carts.set_quantity(cart, sku, data["quantity"], actor))

    @transactional
    @blp.response(200, CartSchema, headers=CART_DOC["headers"])
    @headers("X-Channel", "X-Store-ID", "If-Match")
    @problems(*ACTOR, *CART_ACCESS, "stale_cart", "bad_if_match", "line_not_found")
    def delete(self, cart_id, sku):
        """Remove a line."""
        return change(cart_id, lambda cart, actor: carts.remove_line(cart, sku, actor))


@blp.route("/carts/<cart:cart_id>/coupons")
class CartCoupons(MethodView):
    decorators = [rate_limits.limit("COUPON_RATE_LIMIT", failures_only=True, methods=["POST"])]

    @blp.arguments(CouponCodeSchema())
    @transactional
    @blp.response(200, CartSchema, headers=CART_DOC["headers"])
    @headers("X-Channel", "X-Store-ID", "If-Match")
    @problems(*ACTOR, *CART_ACCESS, "stale_cart", "bad_if_match", *COUPON_RULES, "rate_limited")
    def post(self, data, cart_id):
        """Apply a coupon; an invalid, expired or used-up code is a 422 with the reason."""
        return change(cart_id, lambda cart, actor: carts.apply_coupon(cart, data["code"], actor))


@blp.route("/carts/<cart:cart_id>/coupons/<string:code>")
class CartCoupon(MethodView):
    @transactional
    @blp.response(200, CartSchema, headers=CART_DOC["headers"])
    @headers("X-Channel", "X-Store-ID", "If-Match")
    @problems(*ACTOR, *CART_ACCESS, "stale_cart", "bad_if_match", "coupon_not_applied")
    def delete(self, cart_id, code):
        """Remove the coupon."""
        return change(cart_id, lambda cart, actor: carts.remove_coupon(cart, code, actor))


@blp.route("/carts/<cart:cart_id>/claim")
class CartClaim(MethodView):
    @auth.roles_required("customer")
    @transactional
    @blp.response(200, CartSchema, headers=CART_DOC["headers"])
    @headers("X-Channel", "X-Store-ID", "If-Match")
    @problems(*ACTOR, *CART_ACCESS, "stale_cart", "bad_if_match")
    def post(self, cart_id):
        """Attach a guest cart to the signed-in customer, merged into their active cart."""
        actor = current_actor()
        return respond(cart_claims.claim(cart_id, actor.user, actor, request.headers.get("If-Match")))


@blp.route("/carts/<cart:cart_id>/recovery-links")
class CartRecoveryLinks(MethodView):
    @transactional
    @blp.response(201, RecoveryLinkSchema)
    @headers("X-Channel", "X-Store-ID")
    @problems(*ACTOR, *CART_ACCESS)
    def post(self, cart_id):
        """A signed link (7 days) that reopens this cart on another device; it signs no one in."""
        cart = carts.get_cart(cart_id, current_actor())
        token, expires_at = cart_recovery.make_token(cart)
        base = current_app.config["STOREFRONT_URL"]
        return {"token": token, "expires_at": expires_at,
                "url": f"{base.rstrip('/')}/cart/recover/{token}" if base else None}


@blp.route("/carts/recover/<string:token>")
class CartRecover(MethodView):
    @transactional
    @blp.response(200, RecoveredCartSchema)
    @blp.alt_response(302, description="With STOREFRONT_URL set and an HTML Accept: to the storefront")
    @problems("link_expired", "link_invalid", "cart_already_ordered", "cart_expired")
    def get(self, token):
        """The cart a recovery link leads to (the account cart, if it was merged). A link from a
        campaign message tells the campaign it was opened (its attribution)."""
        cart, message_id = cart_recovery.resolve_tagged(token)
        if message_id is not None:
            events.cart_link_opened.send(current_app._get_current_object(), cart_id=cart.id, message_id=message_id)
        base = current_app.config["STOREFRONT_URL"]
        if base and request.accept_mimetypes.accept_html and not request.accept_mimetypes.accept_json:
            return redirect(f"{base.rstrip('/')}/cart?id={cart.id}", 302)
        return {"cart_id": cart.id, "requires_sign_in": cart.customer_id is not None}


@blp.route("/me/cart")
class MyCart(MethodView):
    @auth.roles_required("customer")
    @transactional
    @blp.response(200, CartSchema, headers=CART_DOC["headers"])
    @headers("X-Channel", "X-Store-ID")
    @problems(*ACTOR)
    def get(self):
        """The signed-in customer's one active cart, the same on every device (created if missing)."""
        cart, _ = carts.open_cart(current_actor(), None)
        return respond(cart)


@blp.route("/customers/<int:customer_id>/cart")
class CustomerCart(MethodView):
    @auth.roles_required("staff", "admin")
    @blp.response(200, CartSchema, headers=CART_DOC["headers"])
    @headers("X-Channel", "X-Store-ID")
    @problems(*ACTOR, "customer_not_found", "cart_not_found")
    def get(self, customer_id):
        """A customer's active cart, opened by staff at the counter of its pickup store (X-Store-ID)."""
        actor = current_actor()  # checks the counter's store
        customer = db.session.get(User, customer_id)
        if customer is None or customer.role != "customer":
            raise DomainError("customer_not_found", f"No customer {customer_id}.")
        cart = carts.active_cart_of(customer.id)
        if cart is None:
            raise DomainError("cart_not_found", "This customer has no active cart.")
        carts.check_access(cart, actor)
        return respond(cart)

