"""Every error an operation can answer is in the spec, with the one status its code has.

tests/support/spec_coverage checks every answer every test provokes; these tests pin the map
itself, the raise sites, and a few answers clients code against.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shop.core.error_codes import HTTP_CODES, STATUS
from shop.core.errors import DomainError
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.spec_coverage import Answer, current_spec, documented_codes, undocumented

ROOT = Path(__file__).resolve().parents[2]
CLI_ONLY = {"unknown_role", "email_taken"}  # `flask shop create-user`, no route (sign-up never says it)
PAGES_ONLY = {"csrf_failed", "manager_required", "not_locked"}  # the counter tablet's endpoints (docs/tablet.md)


def _raise_sites():
    for package in ("shop", "inventory", "stores"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "DomainError":
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", node


def test_every_raise_site_names_a_known_code_and_no_status():
    sites = list(_raise_sites())
    assert len(sites) > 80
    for where, call in sites:
        first = call.args[0]
        assert not (isinstance(first, ast.Constant) and isinstance(first.value, int)), f"{where}: a status"
        if isinstance(first, ast.Constant):
            assert first.value in STATUS, f"{where}: {first.value!r} is not in shop.core.error_codes"


def test_a_domain_error_takes_its_status_from_the_map():
    assert DomainError("stale_cart", "x").status == 412
    assert DomainError("pickup_locked", "x").status == 423
    assert DomainError("payment_provider_unavailable", "x").status == 502
    with pytest.raises(KeyError, match="not_a_code"):
        DomainError("not_a_code", "x")


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield f"{method.upper()} {path}", operation


def _codes(operation) -> dict[str, set[str]]:
    return {status: documented_codes(response, {}) or set()
            for status, response in operation["responses"].items() if status.isdigit() and int(status) >= 400}


def test_every_domain_code_is_documented_on_some_operation_under_its_status(app):
    spec = current_spec()
    documented: dict[str, set[int]] = {}
    for _, operation in _operations(spec):
        for status, codes in _codes(operation).items():
            for code in codes:
                documented.setdefault(code, set()).add(int(status))
    domain = set(STATUS) - set(HTTP_CODES.values()) - CLI_ONLY - PAGES_ONLY
    assert domain - set(documented) == set()
    assert all(statuses == {STATUS[code]} for code, statuses in documented.items())


def test_every_operation_documents_its_generic_errors(app):
    for name, operation in _operations(current_spec()):
        codes = _codes(operation)
        assert "internal_error" in codes["500"], name
        assert "invalid_value" in codes["422"], name
        if "requestBody" in operation:
            assert "validation_error" in codes["422"] and "malformed_request" in codes["400"], name
        if operation.get("security"):
            assert "unauthorized" in codes["401"], name
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"], name
        if "{" in name:
            assert "not_found" in codes["404"], name


@pytest.mark.parametrize("operation, status, code", [
    ("PATCH /api/v1/carts/{cart_id}/lines/{sku}", 412, "stale_cart"),
    ("POST /api/v1/carts/{cart_id}/checkout", 409, "insufficient_stock"),
    ("POST /api/v1/carts/{cart_id}/checkout", 428, "idempotency_key_required"),
    ("POST /api/v1/carts/{cart_id}/checkout", 502, "payment_provider_unavailable"),
    ("POST /api/v1/orders/{order_id}/handover", 423, "pickup_locked"),
    ("POST /api/v1/auth/tokens", 429, "rate_limited"),
    ("GET /api/v1/stores/{store_id}/orders", 403, "wrong_store"),
    ("GET /api/v1/products", 422, "invalid_cursor"),
])
def test_answers_clients_code_against_are_in_the_spec(app, operation, status, code):
    method, path = operation.split(" ")
    assert code in _codes(current_spec()["paths"][path][method.lower()])[str(status)]


def test_the_recorder_flags_an_undocumented_status_and_code(app):
    spec = current_spec()
    found = undocumented(spec, [
        Answer("/api/v1/stores", "get", 200, None),
        Answer("/api/v1/stores", "get", 418, "teapot"),
        Answer("/api/v1/stores/{store_id}", "get", 404, "cart_not_found"),
        Answer("/api/v1/nowhere", "get", 200, None),
    ])
    assert len(found) == 3
    assert "418" in found[0] and "cart_not_found" in found[1] and "not in the spec" in found[2]


def test_an_admin_on_a_store_that_does_not_exist_gets_a_documented_404(client):
    admin = f.user("admin")
    db.session.commit()
    resp = client.patch("/api/v1/stores/999", json={"name": "x"}, headers=f.bearer(admin))
    assert resp.status_code == 404 and resp.get_json()["code"] == "store_not_found"
