"""A migrated template database, copied for each test session instead of migrating it again.

Opt-in (OMNISHOP_TEST_TEMPLATE=1, which `make mutants` sets): a mutation run starts one pytest
session per mutant, and migrating a fresh database (0.9 s on SQLite, 3-4 s on PostgreSQL) was most
of each run. The template is named after a digest of migrations/, so a changed migration builds a
new one; the session still runs `flask db upgrade`, which finds the copy at head and does nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import flask_migrate
import psycopg
from sqlalchemy import make_url

from shop.core.extensions import db

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def wanted() -> bool:
    return os.environ.get("OMNISHOP_TEST_TEMPLATE") == "1"


def _digest() -> str:
    h = hashlib.sha256()
    for path in sorted(MIGRATIONS.rglob("*.py")):
        h.update(path.relative_to(MIGRATIONS).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _migrate(url: str) -> None:
    from tests.support.app import make_app  # app.py imports nothing of this module's callers

    app = make_app(url)
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


def sqlite_copy(target: Path) -> None:
    """Copy the migrated SQLite template to `target` (made once per digest, under the temp dir)."""
    template = Path(tempfile.gettempdir()) / f"omnishop-template-{_digest()}.db"
    if not template.exists():
        building = template.with_suffix(f".{os.getpid()}.tmp")
        _migrate(f"sqlite:///{building}")
        os.replace(building, template)  # atomic: a twin session sees the whole file or none
    shutil.copyfile(template, target)


def create_from_template(conn: psycopg.Connection, admin_url: str, name: str) -> None:
    """CREATE DATABASE `name` as a copy of the migrated template, building the template first if
    need be (under an advisory lock, so two sessions never build it at once)."""
    template = f"omnishop_template_{_digest()}"
    conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (template,))
    try:
        ready = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s AND datistemplate",
                             (template,)).fetchone()
        if ready is None:
            conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{template}"')
            _migrate(make_url(admin_url).set(database=template).render_as_string(hide_password=False))
            conn.execute(f'ALTER DATABASE "{template}" IS_TEMPLATE true')  # marks it complete
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (template,))
