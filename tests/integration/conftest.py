"""Fixtures shared by the inventory integration tests."""

from __future__ import annotations

import pytest

from shop.core.extensions import db
from tests.support import factories as f


@pytest.fixture
def shelf(app):
    s = f.store()
    mug, tea = f.product(sku="MUG"), f.product(sku="TEA")
    f.stock(s, mug, 5)
    f.stock(s, tea, 2)
    db.session.commit()
    return s, mug, tea
