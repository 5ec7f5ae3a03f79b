"""`flask shop import-catalog` and `import-stock`: line-numbered errors, all or nothing, re-runnable."""

from __future__ import annotations

import pytest

from inventory.models import LedgerEntry, Product, Stock
from shop.core.extensions import db
from tests.support import factories as f


def run(app, tmp_path, *args, content: bytes):
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    return app.test_cli_runner().invoke(args=["shop", *args, str(path)])


GOOD = b"sku,name,price,currency,gtin,active\nA-1,Apple,199,USD,,true\nB-2,Pear,249,USD,4006381333931,\n"


def test_catalog_import_creates_then_updates(app, tmp_path):
    first = run(app, tmp_path, "import-catalog", content=GOOD)
    assert first.exit_code == 0, first.output
    assert "2 created, 0 updated, 0 unchanged" in first.output
    changed = GOOD.replace(b"Apple,199", b"Apple,219")
    second = run(app, tmp_path, "import-catalog", content=changed)
    assert "0 created, 1 updated, 1 unchanged" in second.output
    assert db.session.scalar(db.select(Product.price).where(Product.sku == "A-1")) == 219


def test_catalog_import_with_any_bad_row_changes_nothing(app, tmp_path):
    bad = (b"sku,name,price,currency\nA-1,Apple,199,USD\nB-2,Pear,2.49,USD\n"
           b"C 3,Plum,100,USD\nD-4,Fig,100,usd\nA-1,Again,1,USD\n")
    result = run(app, tmp_path, "import-catalog", content=bad)
    assert result.exit_code != 0
    for line in ("line 3: price", "line 4: sku", "line 5: currency", "line 6: SKU A-1 appears more than once"):
        assert line in result.output
    assert "nothing was imported" in result.output
    assert db.session.scalar(db.select(db.func.count(Product.id))) == 0


def test_malformed_csv_is_reported(app, tmp_path):
    assert "missing column(s): price" in run(app, tmp_path, "import-catalog",
                                             content=b"sku,name,currency\nA,B,USD\n").output
    assert "line 2: wrong number of fields" in run(app, tmp_path, "import-catalog",
                                                   content=b"sku,name,price,currency\nA,B,1\n").output
    assert "not UTF-8" in run(app, tmp_path, "import-catalog", content=b"\xff\xfe\x00bad").output


def test_stock_import_records_counts_once(app, tmp_path):
    s = f.store(code="NYC01")
    a, b = f.product(sku="A-1"), f.product(sku="B-2")
    f.stock(s, a, 5)
    db.session.commit()
    content = b"sku,quantity\nA-1,7\nB-2,0\n"
    result = run(app, tmp_path, "import-stock", "NYC01", content=content)
    assert result.exit_code == 0, result.output
    assert "2 SKUs counted at NYC01, 1 changed." in result.output
    assert db.session.get(Stock, (s.id, a.id)).on_hand == 7
    entries = db.session.scalar(db.select(db.func.count(LedgerEntry.id)))
    again = run(app, tmp_path, "import-stock", "NYC01", content=content)
    assert again.exit_code == 0
    assert db.session.scalar(db.select(db.func.count(LedgerEntry.id))) == entries
    assert db.session.get(Stock, (s.id, b.id)).on_hand == 0


def test_stock_import_with_bad_rows_changes_nothing(app, tmp_path):
    s = f.store(code="NYC01")
    a = f.product(sku="A-1")
    f.stock(s, a, 5)
    db.session.commit()
    result = run(app, tmp_path, "import-stock", "NYC01",
                 content=b"sku,quantity\nA-1,9\nZZZ,1\nA-1,-2\n")
    assert result.exit_code != 0
    assert "line 3: unknown SKU ZZZ" in result.output and "line 4: quantity" in result.output
    assert db.session.get(Stock, (s.id, a.id)).on_hand == 5
    unknown_store = run(app, tmp_path, "import-stock", "NOPE", content=b"sku,quantity\nA-1,1\n")
    assert unknown_store.exit_code != 0 and "No store with code 'NOPE'" in unknown_store.output


@pytest.mark.postgres
def test_imports_leave_fresh_statistics_for_the_planner(app, tmp_path):
    # Cached plans (shop/plans.py) are replanned when statistics change: a bulk load refreshes them.
    def analyzed(table):
        return db.session.scalar(db.text(
            "SELECT coalesce(analyze_count, 0) FROM pg_stat_user_tables WHERE relname = :t"), {"t": table})
    before = analyzed("products"), analyzed("stock")
    db.session.rollback()
    assert run(app, tmp_path, "import-catalog", content=GOOD).exit_code == 0
    shop = f.store(code="STAT")
    db.session.commit()
    counts = run(app, tmp_path, "import-stock", "STAT", content=b"sku,quantity\nA-1,4\nB-2,7\n")
    assert counts.exit_code == 0, counts.output
    assert db.session.get(Stock, (shop.id, db.session.scalar(db.select(Product.id).where(Product.sku == "A-1"))))
    assert (analyzed("products"), analyzed("stock")) == (before[0] + 1, before[1] + 1)
