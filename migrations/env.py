"""Alembic environment, run through Flask-Migrate: the app's engine and metadata, batch mode for SQLite."""

import logging

from alembic import context
from flask import current_app

from shop.core.database import unlimited

config = context.config
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def _engine():
    # Flask-SQLAlchemy 3: the engine is an attribute (get_engine() is deprecated).
    return target_db.engine


def _url() -> str:
    return _engine().url.render_as_string(hide_password=False).replace("%", "%%")


config.set_main_option("sqlalchemy.url", _url())


def render_item(type_, obj, autogen_context):
    """Render our UTCDateTime as a plain timezone-aware DateTime: migrations must not import the app."""
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def _options() -> dict:
    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("render_item", render_item)
    conf_args.setdefault("render_as_batch", True)
    conf_args.setdefault("compare_type", True)
    return conf_args


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_db.metadata,
        literal_binds=True,
        **_options(),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def process_revision_directives(context_, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    options = _options()
    options.setdefault("process_revision_directives", process_revision_directives)
    with _engine().connect() as connection, unlimited(connection):
        context.configure(connection=connection, target_metadata=target_db.metadata, **options)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
