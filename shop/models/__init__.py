"""The shop's own tables (carts, coupons, the customer timeline); accounts live in shop.auth_models."""

from shop.models.carts import Cart, CartEvent, CartLine
from shop.models.coupons import Coupon, CouponRedemption
from shop.models.orders import IdempotentReply, Order, OrderEvent, OrderLine, Payment, WebhookEvent
from shop.models.timeline import TimelineEntry

__all__ = [
    "Cart", "CartEvent", "CartLine", "Coupon", "CouponRedemption", "IdempotentReply", "Order",
    "OrderEvent", "OrderLine", "Payment", "TimelineEntry", "WebhookEvent",
]
