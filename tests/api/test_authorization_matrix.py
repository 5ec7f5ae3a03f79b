"""Who may do what: every operation of the spec, as each role, against one table of statuses.

The operations come from the served spec, so a new endpoint without a row fails
`test_every_operation_of_the_spec_has_a_row`. Each call gets fresh objects (tests/support/matrix.py):
A's cart and A's order at store 1, a hold at store 1, store 1 itself; so a row says whether B, a
guest, store 2's staff or marketing can reach what is A's or store 1's. Replays send the owner's
Idempotency-Key again as the role. Adding an endpoint is one line here (and a body in matrix.py if
it takes one).
"""

from __future__ import annotations

import pytest
from flask import jsonify

from shop.accounts.models import User
from shop.core.extensions import db
from tests.support import matrix
from tests.support.app import make_app
from tests.support.spec_coverage import current_spec

#   role order:                                 anon  A    B  guest st1  st2 mkt admin
TABLE = {op: matrix.parse_row(row) for op, row in {
    "POST /auth/tokens":                          "201 201 201 201 201 201 201 201",  # A's credentials
    "DELETE /auth/tokens/current":                "401 204 204 401 204 204 204 204",
    "GET /customers":                             "401 403 403 401 200 200 200 200",  # the counter's look-up
    "POST /customers":                            "202 202 202 202 202 202 202 202",
    "GET /me":                                    "401 200 200 401 200 200 200 200",
    "PATCH /me":                                  "401 200 200 401 200 200 200 200",
    "POST /me/email-verification":                "401 200 422 401 422 422 422 422",  # A's token
    "GET /customers/{customer_id}/timeline":      "401 403 403 401 200 200 200 200",
    "GET /me/timeline":                           "401 200 200 401 403 403 403 403",
    "DELETE /me":                                 "401 200 200 401 403 403 403 403",  # each their own
    "GET /me/export":                             "401 200 200 401 403 403 403 403",
    "GET /customers/{customer_id}/export":        "401 403 403 401 403 403 403 200",  # A's: admin only
    "DELETE /customers/{customer_id}":            "401 403 403 401 403 403 403 200",
    "GET /stores":                                "200 200 200 200 200 200 200 200",
    "POST /stores":                               "401 403 403 401 403 403 403 201",
    "GET /stores/{store_id}":                     "200 200 200 200 200 200 200 200",
    "PATCH /stores/{store_id}":                   "401 403 403 401 403 403 403 200",
    "GET /products":                              "200 200 200 200 200 200 200 200",
    "POST /products":                             "401 403 403 401 403 403 403 201",
    "GET /products/{sku}":                        "200 200 200 200 200 200 200 200",
    "PATCH /products/{sku}":                      "401 403 403 401 403 403 403 200",
    "GET /stores/{store_id}/stock":               "200 200 200 200 200 200 200 200",  # figures: staff of it
    "PATCH /stores/{store_id}/stock/{sku}":       "401 403 403 401 200 403 403 200",
    "GET /availability":                          "200 200 200 200 200 200 200 200",
    "POST /stores/{store_id}/stock-events":       "401 403 403 401 201 403 403 201",
    "GET /stores/{store_id}/ledger":              "401 403 403 401 200 403 403 200",
    "POST /stores/{store_id}/reservations":       "401 403 403 401 201 403 403 201",
    "GET /reservations/{reservation_id}":         "401 403 403 401 200 404 403 200",
    "POST /reservations/{reservation_id}/release": "401 403 403 401 200 404 403 200",
    "POST /carts":                                "201 201 201 201 201 201 422 201",  # marketing: no counter
    "POST /stores/{store_id}/stock-alerts":       "201 201 201 201 403 403 403 403",  # shoppers only
    "DELETE /stores/{store_id}/stock-alerts/{alert_id}": "204 204 204 204 204 204 204 204",  # the id is the key
    "GET /carts/{cart_id}":                       "401 200 404 401 200 404 422 200",  # A's cart at store 1
    "PATCH /carts/{cart_id}":                     "401 200 404 401 200 404 422 200",
    "PATCH /carts/{cart_id} contact":             "401 200 404 401 403 404 422 403",  # staff: never its email
    "POST /carts/{cart_id}/lines":                "401 200 404 401 200 404 422 200",
    "PATCH /carts/{cart_id}/lines/{sku}":         "401 200 404 401 200 404 422 200",
    "DELETE /carts/{cart_id}/lines/{sku}":        "401 200 404 401 200 404 422 200",
    "POST /carts/{cart_id}/coupons":              "401 200 404 401 200 404 422 200",
    "DELETE /carts/{cart_id}/coupons/{code}":     "401 200 404 401 200 404 422 200",
    "POST /carts/{cart_id}/claim":                "401 200 200 401 403 403 403 403",  # a guest cart: its id is the key
    "POST /carts/{cart_id}/recovery-links":       "401 201 404 401 201 404 422 201",
    "GET /carts/recover/{token}":                 "200 200 200 200 200 200 200 200",  # the signed link is the key
    "GET /me/cart":                               "401 200 200 401 403 403 403 403",
    "GET /customers/{customer_id}/cart":          "401 403 403 401 200 404 403 200",
    "POST /coupons":                              "401 403 403 401 403 403 201 201",
    "GET /coupons/{code}":                        "401 403 403 401 403 403 200 200",
    "GET /coupons":                               "401 403 403 401 403 403 200 200",
    "PATCH /coupons/{code}":                      "401 403 403 401 403 403 200 200",
    "GET /campaigns":                             "401 403 403 401 403 403 200 200",
    "POST /campaigns":                            "401 403 403 401 403 403 201 201",
    "GET /campaigns/{campaign_id}":               "401 403 403 401 403 403 200 200",
    "PATCH /campaigns/{campaign_id}":             "401 403 403 401 403 403 200 200",  # a draft
    "POST /campaigns/{campaign_id}/activate":     "401 403 403 401 403 403 200 200",
    "POST /campaigns/{campaign_id}/pause":        "401 403 403 401 403 403 200 200",  # an active one
    "POST /campaigns/{campaign_id}/test-send":    "401 403 403 401 403 403 202 202",
    "GET /campaigns/{campaign_id}/report":        "401 403 403 401 403 403 200 200",
    "POST /carts/{cart_id}/checkout":             "401 201 404 401 201 404 422 201",
    "POST /carts/{cart_id}/checkout replay":      "401 201 404 401 409 404 422 409",  # A's key: only A gets A's reply
    "GET /orders/{order_id}":                     "401 200 404 404 200 404 422 200",
    "GET /orders/{order_id} of the guest":        "401 404 404 200 200 404 422 200",
    "GET /me/orders":                             "401 200 200 401 403 403 403 403",
    "POST /orders/{order_id}/cancel":             "401 200 404 404 200 404 422 200",
    "POST /orders/{order_id}/cancel of the guest": "401 404 404 200 200 404 422 200",
    "POST /orders/{order_id}/feedback":           "401 201 404 404 403 404 422 403",  # A's, collected: A only
    "GET /stores/{store_id}/orders":              "401 403 403 401 200 403 403 200",
    "POST /orders/{order_id}/picking":            "401 403 403 401 200 404 403 200",
    "PUT /orders/{order_id}/lines/{line_id}/pick": "401 403 403 401 200 404 403 200",
    "POST /orders/{order_id}/ready":              "401 403 403 401 200 404 403 200",
    "POST /orders/{order_id}/handover":           "401 403 403 401 200 404 403 200",
    "POST /orders/{order_id}/refunds":            "401 403 403 401 201 404 403 201",
    "POST /orders/{order_id}/refunds replay":     "401 403 403 401 201 404 403 422",  # store 1 clerk's key
    "POST /webhooks/stripe":                      "400 400 400 400 400 400 400 400",  # unsigned: nobody
    "GET /payments/attention":                    "401 403 403 401 200 200 403 200",  # staff: their stores' only
    "POST /payments/attention/{payment_id}/resolution": "401 403 403 401 200 404 403 200",  # the store's staff
    "GET /messages":                              "401 403 403 401 200 200 200 200",  # masked; staff: their stores' only
    "POST /messages/{message_id}/resend":         "401 403 403 401 200 404 403 200",  # store 1's: not found for store 2
    "GET /messages/preview/{template}":           "401 403 403 401 200 200 200 200",  # demo data only
    "GET /me/preferences":                        "401 200 200 401 403 403 403 403",
    "PUT /me/preferences":                        "401 200 200 401 403 403 403 403",  # each their own
    "GET /customers/{customer_id}/preferences":   "401 403 403 401 200 200 200 200",  # A's, read only
    "GET /unsubscribe/{token}":                   "200 200 200 200 200 200 200 200",  # the signed link is the key
    "POST /unsubscribe/{token}":                  "200 200 200 200 200 200 200 200",
    "GET /consent/confirm/{token}":               "200 200 200 200 200 200 200 200",  # the signed link is the key
    "POST /consent/confirm/{token}":              "200 200 200 200 200 200 200 200",
    "POST /stores/{store_id}/customers/{customer_id}/consents":
                                                  "401 403 403 401 201 403 403 201",  # at store 1's counter
    "POST /webhooks/twilio/inbound":              "403 403 403 403 403 403 403 403",  # unsigned: nobody
    "POST /webhooks/twilio/status":               "403 403 403 403 403 403 403 403",
}.items()}


def test_every_operation_of_the_spec_has_a_row(app):
    assert matrix.missing_rows(current_spec(), TABLE) == []


def test_every_role_gets_what_the_table_says(client):
    world = matrix.build_world(client)
    differences = matrix.run(world, TABLE, TABLE)
    assert differences == [], "\n".join(differences)


# --- the test of the test ---------------------------------------------------------------------------


def test_a_spec_operation_without_a_row_is_found(app):
    spec = {"paths": {**current_spec()["paths"], "/api/v1/customers/{customer_id}/secrets": {"get": {}}}}
    assert matrix.missing_rows(spec, TABLE) == ["no row for GET /customers/{customer_id}/secrets"]


@pytest.fixture
def leaky_app(app, database_url):
    """The app plus one endpoint that forgot its access check: a customer's timeline for anyone."""
    leaky = make_app(database_url)

    @leaky.get("/leak/customers/<int:customer_id>/timeline")
    def leak(customer_id):
        return jsonify(email=db.session.get(User, customer_id).email)

    with leaky.app_context():
        yield leaky


def test_an_endpoint_without_its_access_check_fails_the_matrix(leaky_app):
    world = matrix.build_world(leaky_app.test_client())
    world.prefix = "/leak"
    operation = "GET /customers/{customer_id}/timeline"
    differences = matrix.run(world, [operation], {operation: TABLE[operation]})
    assert differences == [f"{operation} as {role}: 200  (table says {status})"
                           for role, status in TABLE[operation].items() if status != 200]
    assert len(differences) == 4
