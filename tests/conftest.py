"""Shared fixtures: one real database per run (SQLite or PostgreSQL by TEST_DB), a clean slate per test."""

from __future__ import annotations

import os
import uuid

import flask_migrate
import psycopg
import pytest
from sqlalchemy import make_url

from shop.core.extensions import db, limiter
from tests.support import template_db
from tests.support.app import make_app, remove_dev_outbox, wipe

pytest_plugins = ["tests.support.orders", "tests.support.localstripe", "tests.support.concurrency",
                  "tests.support.spec_coverage", "tests.support.browser", "tests.support.tablet",
                  "tests.support.scripted_gateway", "tests.support.slow_stripe", "tests.support.console"]

TEST_DB = os.environ.get("TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _pg_conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def pytest_report_header(config):
    return f"database: {TEST_DB}"


def pytest_configure(config):
    if TEST_DB != "postgres":
        return
    try:
        psycopg.connect(_pg_conninfo(PG_ADMIN_URL), connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL unreachable at {make_url(PG_ADMIN_URL).host}: {exc}".splitlines()[0]
        if os.environ.get("CI") == "true":
            raise pytest.UsageError(f"CI=true and {reason}") from exc
        pytest.exit(f"skipping the PostgreSQL half: {reason}", returncode=0)


def pytest_collection_modifyitems(config, items):
    if TEST_DB == "postgres":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (runs in the TEST_DB=postgres half)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if TEST_DB != "postgres":
        path = tmp_path_factory.mktemp("db") / "omnishop-test.db"
        if template_db.wanted():
            template_db.sqlite_copy(path)
        yield f"sqlite:///{path}"
        return
    name = f"omnishop_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_conninfo(PG_ADMIN_URL)
    with psycopg.connect(admin, autocommit=True) as conn:
        if template_db.wanted():
            template_db.create_from_template(conn, PG_ADMIN_URL, name)
        else:
            conn.execute(f'CREATE DATABASE "{name}"')
    yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _migrated_app(database_url):
    app = make_app(database_url)
    with app.app_context():
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(_migrated_app):
    """The app on a clean database, inside an app context."""
    with _migrated_app.app_context():
        yield _migrated_app
        db.session.remove()
        wipe()
        limiter.reset()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def is_postgres(app) -> bool:
    return db.engine.dialect.name == "postgresql"


@pytest.fixture(scope="session", autouse=True)
def _remove_dev_outbox():
    yield
    remove_dev_outbox()
