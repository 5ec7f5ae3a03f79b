"""The blinker signals the domain sends; receivers (notifications, the timeline) must not do network I/O."""

from blinker import Namespace

_signals = Namespace()

# Accounts
customer_signed_up = _signals.signal("customer-signed-up")
email_verification_requested = _signals.signal("email-verification-requested")

customer_email_verified = _signals.signal("customer-email-verified")

# Carts
cart_changed = _signals.signal("cart-changed")

# Inventory
stock_changed = _signals.signal("stock-changed")
reservation_at_risk = _signals.signal("reservation-at-risk")
