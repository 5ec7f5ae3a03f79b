"""Migrations build the whole schema from empty, and a test fails when models and migrations disagree."""

from __future__ import annotations

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from shop.core.extensions import db
from tests.support.app import make_app


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations disagree; run `flask db migrate`: {diff}"


def test_every_check_constraint_of_the_models_is_in_the_database(app):
    # Autogenerate does not compare CHECK constraints, so look for them by name.
    inspector = inspect(db.engine)
    for table in db.metadata.sorted_tables:
        wanted = {c.name for c in table.constraints if c.__class__.__name__ == "CheckConstraint"}
        if not wanted:
            continue
        have = {c["name"] for c in inspector.get_check_constraints(table.name)}
        assert wanted <= have, f"{table.name}: missing {wanted - have}"


def test_downgrade_to_base_and_upgrade_again(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'roundtrip.db'}")
    with app.app_context():
        flask_migrate.upgrade()
        assert "stock_ledger" in inspect(db.engine).get_table_names()
        flask_migrate.downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        flask_migrate.upgrade()
        assert "stock_ledger" in inspect(db.engine).get_table_names()
        db.engine.dispose()
