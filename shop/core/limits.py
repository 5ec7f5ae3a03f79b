"""The numbers our rules are made of, named once: schemas, CHECK constraints and services derive from these.

Settings an operator may change (token lifetimes, the payment window) live in shop/config.py instead;
these are part of the API contract (the OpenAPI spec publishes them) or of the database schema.
"""

from __future__ import annotations

import datetime as dt

# The largest id: what a PostgreSQL integer column holds. A bigger id in a URL, body or header is
# refused before it reaches the database (where it would be a DataError).
MAX_ID = 2**31 - 1

# A cart line holds 1 to 99 units of one SKU, and a cart (so the order made from it) at most 100 lines.
MAX_LINE_QUANTITY = 99
MAX_LINES = 100

# The longest wording of a consent (the text the customer was shown), kept in the consent ledger.
CONSENT_WORDING_MAX = 2000

# The largest page any list returns.
MAX_PAGE_SIZE = 100

# GET /availability answers for at most this many stores (the nearest, with `near`).
MAX_AVAILABILITY_STORES = 100

# A card authorisation lasts 7 days at Stripe. We capture at least 12 hours before it lapses, so the
# pickup deadline of a card order is never later than 6.5 days after the authorisation.
AUTHORIZATION_LIFETIME = dt.timedelta(days=7)
AUTHORIZATION_MARGIN = dt.timedelta(hours=12)

# How many days a store holds a ready order. The deadline is the closing time of the hold's last
# day (up to a day more), so a 5-day hold ends within 6 days of readiness: inside the 6.5 days a
# card authorisation allows, unless preparing the order took more than half a day.
MIN_HOLD_DAYS = 1
MAX_HOLD_DAYS = (AUTHORIZATION_LIFETIME - AUTHORIZATION_MARGIN).days - 1
DEFAULT_HOLD_DAYS = 3

# Order feedback: a rating of 1 to 5 stars and a comment of at most 2,000 characters.
MIN_RATING, MAX_RATING = 1, 5
MAX_FEEDBACK_COMMENT = 2000

# Campaigns (notifications.campaigns): at most 10 steps, each at most a year after its trigger;
# a cool-down of up to a year, an attribution window of 1 to 90 days; an incentive coupon valid
# 1 to 365 days.
MAX_CAMPAIGN_STEPS = 10
MAX_CAMPAIGN_DELAY_MINUTES = 365 * 24 * 60
MAX_CAMPAIGN_COOLDOWN_DAYS = 365
MAX_ATTRIBUTION_DAYS = 90
MAX_INCENTIVE_DAYS = 365
