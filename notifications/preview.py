"""Previews: every template rendered with demo data, so staff and marketing see what customers get."""

from __future__ import annotations

from notifications import rendering
from shop.core.errors import DomainError

DEMO_ORDER = {
    "order_id": 1001, "number": "NYC01-7K3QXA", "status": "ready_for_pickup", "customer_id": None,
    "email": "dora@example.com", "phone": "+14155550123", "sms_updates": True, "store_id": 1,
    "store_name": "Omnishop Union Square", "store_address": "1 Union Square W, New York, NY 10003",
    "store_timezone": "America/New_York", "total": 2900, "currency": "USD", "payment_method": "card",
    "captured_amount": 2900, "refunded_amount": 500, "amount": 500,
    "promised_at": "2026-11-24T19:30:00+00:00", "pickup_deadline": "2026-11-27T02:00:00+00:00",
    "pickup_code": "482913", "pickup_qr": "omnishop:pickup:NYC01-7K3QXA:482913", "order_url": None,
    "reason": "Cancelled at the shopper's request", "error": "Your card was declined.",
    "lines": [{"sku": "MUG", "name": "Stoneware mug", "quantity": 2, "unit_price": 1200},
              {"sku": "TEA", "name": "Breakfast tea", "quantity": 1, "unit_price": 500}],
}
DEMO = {
    "email_verification": {"token": "eyJ1aWQiOjEsImVtYWlsIjoiZG9yYUBleGFtcGxlLmNvbSJ9.demo",
                           "email": "dora@example.com"},
    "confirm_marketing_email": {"confirm_url": "https://shop.example.com/api/v1/consent/confirm/demo",
                                "wording": "Send me offers and news by email.", "valid_days": 7},
    "back_in_stock": {"sku": "MUG", "name": "Stoneware mug", "store_id": 1, "store_name": "Omnishop Union Square",
                      "product_url": "https://shop.example.com/products/MUG?store=1"},
    "promotion": {"headline": "Autumn teas are in", "body": "Six new blends at your store this week.",
                  "cta_label": "See them", "cta_url": "https://shop.example.com/teas"},
}
DEMO_CART = {
    "cart": {"store_name": "Omnishop Union Square", "subtotal": 2900, "currency": "USD", "line_count": 2,
             "lines": [{"sku": "MUG", "name": "Stoneware mug", "quantity": 2, "unit_price": 1200,
                        "line_total": 2400, "availability": "in_stock"},
                       {"sku": "TEA", "name": "Breakfast tea", "quantity": 1, "unit_price": 500,
                        "line_total": 500, "availability": "low"}]},
    "store_name": "Omnishop Union Square", "store_timezone": "America/New_York", "currency": "USD",
    "recovery_url": "https://shop.example.com/cart/recover/demo", "coupon": None,
}
DEMO_COUPON = {"kind": "percent", "value": 10, "valid_days": 7, "code": "K7QX3MZ9TA",
               "ends_at": "2026-12-01T05:00:00+00:00"}
DEMO_FOLLOW_UP = {
    **DEMO_ORDER, "feedback_url": "https://shop.example.com/orders/1001#feedback", "coupon": None,
    "shop_url": "https://shop.example.com",
    "recommendations": [{"sku": "POT", "name": "Teapot", "price": 3400, "currency": "USD"},
                        {"sku": "HONEY", "name": "Wildflower honey", "price": 900, "currency": "USD"}],
}
DEMO.update({
    "abandoned_cart_1": DEMO_CART, "abandoned_cart_2": DEMO_CART,
    "abandoned_cart_3": {**DEMO_CART, "coupon": DEMO_COUPON},
    "post_pickup_follow_up": DEMO_FOLLOW_UP, "win_back": {**DEMO_FOLLOW_UP, "coupon": DEMO_COUPON},
    "back_in_stock_follow_up": {**DEMO["back_in_stock"], "available": 3, "coupon": DEMO_COUPON,
                                "store_timezone": "America/New_York"},
    "keyword_coupon_reminder": {"keyword": "SPRING", "coupon_code": "K7QX3MZ9TA",
                                "coupon_ends_at": "2026-12-01T05:00:00+00:00", "shop_url": "https://shop.example.com"},
})
PURPOSE = {"promotion": "marketing", **{name: "marketing" for name in (
    "abandoned_cart_1", "abandoned_cart_2", "abandoned_cart_3", "post_pickup_follow_up", "win_back",
    "back_in_stock_follow_up", "keyword_coupon_reminder")}}


def demo_context(template: str) -> dict:
    """The demo data a template is previewed (and test-sent) with."""
    return DEMO.get(template, DEMO_ORDER)


def preview(template: str, locale: str) -> dict:
    """Every channel of the template, rendered as it would be sent (the QR inline as a data: URI)."""
    if template not in rendering.templates():
        raise DomainError("template_not_found", f"No message template {template!r}.",
                          templates=rendering.templates())
    context, purpose = demo_context(template), PURPOSE.get(template, "transactional")
    channels = rendering.channels_of(template)
    result = {"template": template, "locale": locale, "purpose": purpose, "channels": channels,
              "subject": None, "text": None, "html": None, "sms": None}
    if "email" in channels:
        mail = rendering.render(template, "email", locale, context, purpose=purpose, to="dora@example.com",
                                inline_images="data")
        result.update(subject=mail.subject, text=mail.text, html=mail.html)
    if "sms" in channels:
        result["sms"] = rendering.render(template, "sms", locale, context, purpose=purpose,
                                         to="+14155550123").sms
    return result
