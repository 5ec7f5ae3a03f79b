"""Extension singletons (db, migrate, api, limiter, cors), the declarative base and the UTC timestamp type."""

from __future__ import annotations

import datetime as dt

from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, TypeDecorator
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import DeclarativeBase, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from shop.core.http import Api

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so Alembic batch mode can name every constraint."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use an aware UTC time")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def as_loaded(model, **values):
    """The ORM object of a row read or written with Core, without loading it again: the session's
    own copy if it has one, else one made from `values` (attributes left out load when read)."""
    mapper = sa_inspect(model)
    key = identity_key(model, tuple(values[column.key] for column in mapper.primary_key))
    obj = db.session.identity_map.get(key)
    if obj is None:
        obj = model(**values)
        make_transient_to_detached(obj)
        db.session.add(obj)
    return obj


def with_defaults(table, values: dict) -> dict:
    """Every column of `table` but its key: `values`, else the column's Python default (as an ORM
    flush would fill it in), else None. A row written with Core from it gives an ORM object that
    has every attribute, so none of them loads when read."""
    row = {}
    for column in table.columns:
        if column.key in values:
            row[column.key] = values[column.key]
        elif not column.primary_key:
            default = column.default
            if default is not None and not (default.is_scalar or default.is_callable):
                raise ValueError(f"{table.name}.{column.key}: a SQL default has no value in Python: give it")
            row[column.key] = None if default is None else default.arg(None) if default.is_callable else default.arg
    return row


# One commit per request, at its end: objects need not be reloaded from the database after it.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate(render_as_batch=True, compare_type=True)
api = Api()
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
cors = CORS()
