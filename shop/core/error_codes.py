"""Every machine `code` an error can carry and its HTTP status: the one place a status is stated.

DomainError takes its status from here, and the OpenAPI spec documents each operation's errors
from here (shop.core.http.problems), so a raise site and the spec cannot disagree.
"""

from __future__ import annotations

# What the framework answers before or around any view (shop.core.errors), by status.
HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    428: "precondition_required",
    429: "rate_limited",
    500: "internal_error",
}

STATUS: dict[str, int] = {
    **{code: status for status, code in HTTP_CODES.items()},
    "malformed_request": 400,  # a body that is not JSON
    "invalid_value": 422,  # a NUL character, or a value the database refuses
    "database_unavailable": 503,  # the database cannot be reached (shop.core.database)
    "database_busy": 503,  # our lock or statement timeout: a busy row, try again in a moment
    # accounts and who acts
    "invalid_credentials": 401,
    "sign_in_required": 401,
    "wrong_store": 403,
    "email_taken": 409,
    "unknown_role": 422,
    "store_required": 422,
    "token_expired": 422,
    "token_invalid": 422,
    "unknown_channel": 422,
    "customer_not_found": 404,
    "csrf_failed": 403,  # a page's form or call without its session's CSRF token
    "wrong_password": 403,  # an irreversible step (erasure) asks for the password again
    "open_orders": 409,  # erasure waits until no order is still to be picked up or paid
    # requests
    "bad_signature": 400,
    "idempotency_key_required": 428,
    "idempotency_key_invalid": 422,
    "idempotency_key_reused": 422,
    "request_in_progress": 409,
    "invalid_cursor": 422,
    # stores and catalog
    "store_not_found": 404,
    "store_code_taken": 409,
    "product_not_found": 404,
    "sku_taken": 409,
    "gtin_taken": 409,
    # stock and holds
    "unknown_sku": 422,
    "event_id_reused": 409,
    "insufficient_stock": 409,
    "reservation_not_found": 404,
    "reservation_not_active": 409,
    "units_not_reserved": 409,
    # carts
    "cart_not_found": 404,
    "cart_merged": 410,
    "cart_converted": 409,
    "cart_expired": 410,
    "stale_cart": 412,
    "bad_if_match": 400,  # an If-Match that is not "*" or a list of quoted ETags
    "line_not_found": 404,
    "pickup_disabled": 422,
    "quantity_too_large": 422,
    "too_many_lines": 422,
    "currency_mismatch": 422,
    "link_expired": 410,
    "link_invalid": 404,
    "cart_already_ordered": 409,
    # coupons
    "coupon_unknown": 422,
    "coupon_not_started": 422,
    "coupon_expired": 422,
    "coupon_exhausted": 422,
    "coupon_used": 422,
    "coupon_currency": 422,
    "coupon_min_subtotal": 422,
    "coupon_not_applied": 404,
    "coupon_code_taken": 409,
    "coupon_not_found": 404,  # the coupon desk (any coupon, active or not)
    "coupon_redeemed": 409,  # a term fixed once the coupon has been used (shop.carts.coupon_admin)
    "coupon_max_uses_below_uses": 422,
    # checkout
    "cart_empty": 422,
    "email_required": 422,
    "sms_choice_required": 422,
    "pickup_store_required": 422,
    "pay_at_store_unavailable": 422,
    "card_unavailable": 422,
    "payment_provider_unavailable": 502,
    "cart_changed": 409,  # changed while the PaymentIntent was being made
    # orders and pickup
    "order_not_found": 404,
    "unknown_status": 422,
    "move_not_allowed": 403,
    "illegal_transition": 409,
    "picked_too_many": 422,
    "units_released": 409,
    "nothing_picked": 409,
    "pickup_locked": 423,
    "wrong_pickup_code": 422,
    "not_locked": 409,
    "manager_required": 403,
    "capture_failed": 502,
    "capture_in_progress": 409,  # a cancel or expiry while the counter captures
    "refund_too_many": 422,
    "nothing_to_refund": 422,
    "refund_failed": 502,
    "refund_in_progress": 409,  # another refund of the order is at the provider now
    "payment_not_found": 404,
    "attention_not_open": 409,  # not on the attention list (never flagged, or resolved already)
    "order_not_collected": 409,  # feedback waits until the order is picked up
    "feedback_given": 409,  # one rating per order, not edited
    # messages and consent (notifications/)
    "message_not_found": 404,
    "message_not_failed": 409,
    "template_not_found": 404,
    # campaigns (notifications.campaigns)
    "campaign_not_found": 404,
    "campaign_not_draft": 409,  # only a draft is edited
    "campaign_not_active": 409,  # only an active campaign is paused
    "campaign_step_unknown": 422,  # a test-send names a step the campaign does not have
    "campaign_no_address": 422,  # a test-send of a step needs the address of its channel
    "phone_required": 422,
    "sms_stopped": 409,
    "unsubscribe_link_invalid": 404,
    "unsubscribe_link_expired": 410,
    "confirmation_link_invalid": 404,  # double opt-in for marketing email
    "confirmation_link_expired": 410,
    "confirmation_superseded": 409,  # a newer choice came after the yes this link confirms
    "contact_required": 422,  # a guest's back-in-stock alert needs an email or a phone
    "stock_available_now": 409,  # an alert is for a SKU that cannot be had at the store now
    "stock_alert_not_found": 404,
    "twilio_signature_invalid": 403,  # Twilio's webhooks (the Stripe webhook answers bad_signature)
}


def status_of(code: str) -> int:
    """The status of a code; an unknown code is a programming error, caught by the tests."""
    try:
        return STATUS[code]
    except KeyError:
        raise KeyError(f"error code {code!r} is not in shop.core.error_codes.STATUS") from None


# Codes that travel together: every route through the same check can answer all of them.
ACTOR = ("unauthorized", "unknown_channel", "store_required", "forbidden",
         "wrong_store")  # shop.accounts.actors.current_actor
CART_ACCESS = ("cart_not_found", "sign_in_required", "cart_merged", "cart_converted", "cart_expired")
COUPON_RULES = ("coupon_unknown", "coupon_not_started", "coupon_expired", "coupon_exhausted", "coupon_used",
                "coupon_currency", "coupon_min_subtotal")  # shop.carts.coupons.find and check
IDEMPOTENCY = ("idempotency_key_required", "idempotency_key_invalid", "idempotency_key_reused",
               "request_in_progress")  # shop.core.idempotency
ORDER_MOVE = ("move_not_allowed", "illegal_transition")  # shop.orders.states.find_move
