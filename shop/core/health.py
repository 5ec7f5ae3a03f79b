"""Liveness (/healthz) and readiness (/readyz: database reachable and migrations at head)."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from flask_migrate import Migrate

from shop.core.extensions import db

bp = Blueprint("health", __name__)


def migration_heads() -> set[str]:
    migrate: Migrate = current_app.extensions["migrate"].migrate
    config = migrate.get_config()
    return set(ScriptDirectory.from_config(config).get_heads())


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    try:
        with db.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:  # any driver error means "not ready", never a 500
        current_app.logger.warning("readiness: database unreachable: %s", type(exc).__name__)
        return jsonify(status="unavailable", reason="database unreachable"), 503
    heads = migration_heads()
    if current != heads:
        return (
            jsonify(
                status="unavailable",
                reason="migrations not at head",
                current=sorted(current),
                head=sorted(heads),
            ),
            503,
        )
    return jsonify(status="ready", migration=sorted(current))
