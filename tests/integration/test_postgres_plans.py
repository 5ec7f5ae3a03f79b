"""PostgreSQL sessions plan each statement for its values (see docs/performance.md)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shop.extensions import db

pytestmark = pytest.mark.postgres


def test_connections_never_keep_a_generic_plan(app):
    # A generic plan made while `reservations` was small made every hold slower as it grew.
    assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
