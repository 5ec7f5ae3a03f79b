"""The blinker signals the domain sends; receivers (notifications, the timeline) must not do network I/O."""

from blinker import Namespace

_signals = Namespace()

# Accounts
customer_signed_up = _signals.signal("customer-signed-up")
email_verification_requested = _signals.signal("email-verification-requested")

customer_email_verified = _signals.signal("customer-email-verified")
# Someone signed up with an email that has an account (the API answers as for a new one).
sign_up_for_existing_account = _signals.signal("sign-up-for-existing-account")

# Data rights (shop.accounts.privacy). Export: each receiver returns {section: JSON-able data} held
# about the customer (consent history, messages); the export includes every section. Erasure: each
# receiver removes or anonymises what it holds, keeping what must stay as proof (consent history)
# under `contact_hash(value)` instead of the contact itself. Both carry customer_id, email, phone.
personal_data_export = _signals.signal("personal-data-export")
personal_data_erasure = _signals.signal("personal-data-erasure")

# Carts
cart_changed = _signals.signal("cart-changed")
# Carts with lines and a known contact went idle past CART_IDLE_SECONDS (each once per idle spell),
# sent once per sweep batch: carts=[{cart_id, customer_id, email, phone, store_id, subtotal, currency,
# line_count, idle_since}, ...], longest idle first.
carts_abandoned = _signals.signal("carts-abandoned")
# A recovery link tagged with a message was opened: cart_id, message_id (for attribution).
cart_link_opened = _signals.signal("cart-link-opened")

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
# A shopper rated a collected order: order_id, number, customer_id, rating, comment, channel (for the timeline).
order_feedback = _signals.signal("order-feedback")

# Messages: sent by the delivery sweep once a provider accepted a message (for the timeline)
message_sent = _signals.signal("message-sent")

# Inventory
stock_changed = _signals.signal("stock-changed")
# What shoppers can reserve of a SKU at a store went from 0 to more: store_id, sku, product_id, available,
# store_name (sent from one place: inventory.back_in_stock.watch).
stock_available = _signals.signal("stock-available")
# A back-in-stock subscriber was told (notifications.stock_alerts, their message queued): alert_id,
# customer_id, email or phone, store_id, store_name, sku, name, product_url (the back_in_stock trigger).
stock_alert_told = _signals.signal("stock-alert-told")
reservation_at_risk = _signals.signal("reservation-at-risk")

# Consent: a ledger entry about a known customer (notifications.consent), for the timeline
consent_changed = _signals.signal("consent-changed")
# A shopper said yes to offers by email outside their preferences (a guest at checkout): customer_id
# (or None), email, source, wording, reference. notifications records it pending its confirmation.
marketing_email_requested = _signals.signal("marketing-email-requested")
# A number confirmed an advert's keyword by Y (notifications.sms_keywords, consent recorded, code minted):
# optin_id, phone, keyword, coupon_code, coupon_ends_at (the sms_keyword trigger).
sms_keyword_confirmed = _signals.signal("sms-keyword-confirmed")

# `flask shop demo` loaded the demo data (in its transaction): notifications adds its demo campaign.
demo_loaded = _signals.signal("demo-loaded")
