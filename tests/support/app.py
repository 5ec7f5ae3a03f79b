"""The app as tests build it, and wiping its database between tests."""

from __future__ import annotations

import shutil
import tempfile

from sqlalchemy import text

from shop.app import create_app
from shop.core.extensions import db

_dev_outbox: str | None = None
# One iteration of PBKDF2: tests sign up hundreds of users and check passwords; production keeps scrypt.
CHEAP_PASSWORD_HASH = "pbkdf2:sha256:1"


def dev_outbox() -> str:
    """Where the file senders write during this run: made on first use, removed when the run ends."""
    global _dev_outbox
    if _dev_outbox is None:
        _dev_outbox = tempfile.mkdtemp(prefix="omnishop-outbox-")
    return _dev_outbox


def remove_dev_outbox() -> None:
    if _dev_outbox is not None:
        shutil.rmtree(_dev_outbox, ignore_errors=True)


def make_app(database_url: str, **overrides):
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-long-enough-to-pass-the-startup-check",
        "RATELIMIT_STORAGE_URI": "memory://",
        "DEV_OUTBOX_DIR": dev_outbox(),
        "PASSWORD_HASH_METHOD": CHEAP_PASSWORD_HASH,
    }
    config.update(overrides)
    return create_app(config)


def wipe() -> None:
    """Empty every table (inside an app context): each test starts from a clean database."""
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
