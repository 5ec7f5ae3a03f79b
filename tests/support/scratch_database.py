"""A throwaway PostgreSQL database for one run of the fault suite, the cluster or a measurement:
made on entry, dropped on exit WITH (FORCE), since processes killed on purpose leave connections."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
from sqlalchemy import make_url


def _admin(admin_url: str) -> psycopg.Connection:
    conninfo = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(conninfo, autocommit=True, connect_timeout=5)


@contextlib.contextmanager
def scratch_database(admin_url: str, name: str) -> Iterator[str]:
    """The URL of a new, empty database `name` on the server of `admin_url`, for the block."""
    with _admin(admin_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with _admin(admin_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
