"""Schemathesis over the whole OpenAPI spec: no input yields a 5xx or a body unlike its schema.

Each later endpoint is covered here automatically, as an anonymous caller and as an admin.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from shop.core.extensions import db
from tests.support import factories as f

schema = schemathesis.pytest.from_fixture("api_schema")

CHECKS = [
    schemathesis.checks.not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
]


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def admin_headers(app):
    admin = f.user("admin")
    db.session.commit()
    return f.bearer(admin)


HYPOTHESIS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@HYPOTHESIS
def test_every_operation_keeps_its_contract_for_anonymous_callers(case):
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@HYPOTHESIS
def test_every_operation_keeps_its_contract_for_an_admin(case, admin_headers):
    case.call_and_validate(headers=admin_headers, checks=CHECKS)
