"""The blinker signals the domain sends; receivers (notifications, the timeline) must not do network I/O."""

from blinker import Namespace

_signals = Namespace()

# Accounts
customer_signed_up = _signals.signal("customer-signed-up")
email_verification_requested = _signals.signal("email-verification-requested")

customer_email_verified = _signals.signal("customer-email-verified")

# Carts
cart_changed = _signals.signal("cart-changed")

# Orders: each carries the fields a message needs (shop.orders.states.message_fields)
order_event = _signals.signal("order-event")
order_placed = _signals.signal("order-placed")
order_ready = _signals.signal("order-ready")
pickup_reminder_due = _signals.signal("pickup-reminder-due")
order_picked_up = _signals.signal("order-picked-up")
order_cancelled = _signals.signal("order-cancelled")
order_expired = _signals.signal("order-expired")
payment_failed = _signals.signal("payment-failed")
order_refunded = _signals.signal("order-refunded")  # also carries amount: what this refund gave back

# Messages: sent by the delivery sweep once a provider accepted a message (for the timeline)
message_sent = _signals.signal("message-sent")

# Inventory
stock_changed = _signals.signal("stock-changed")
reservation_at_risk = _signals.signal("reservation-at-risk")

# Consent: a ledger entry about a known customer (notifications.consent), for the timeline
consent_changed = _signals.signal("consent-changed")
