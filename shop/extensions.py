"""Extension singletons (db, migrate, api, limiter, cors): a leaf that imports nothing of the project."""

from __future__ import annotations

import datetime as dt
import http

from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_smorest import Api as SmorestApi
from flask_smorest.spec import prepare_response
from flask_sqlalchemy import SQLAlchemy
from marshmallow import INCLUDE, Schema, fields
from sqlalchemy import DateTime, MetaData, TypeDecorator
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import DeclarativeBase, make_transient_to_detached
from sqlalchemy.orm.util import identity_key
from werkzeug.routing import BaseConverter, IntegerConverter

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


class Clock:
    """The one source of "now" (aware UTC), so tests can freeze or move time."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


clock = Clock()


def utcnow() -> dt.datetime:
    """Column default: now, by the one clock."""
    return clock.now()


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


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every error of the API is rendered (extension members allowed)."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    code = fields.String(required=True)
    errors = fields.Dict()
    instance = fields.String()
    request_id = fields.String()


PROBLEM_CONTENT_TYPE = "application/problem+json"
MAX_DB_INT = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` in URLs, bounded to what an integer column holds: a bigger id is a 404, not a 500."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_DB_INT)
        super().__init__(url_map, *args, **kwargs)


class CartIdConverter(BaseConverter):
    """`<cart:...>`: what a cart id can look like; anything else is a 404 before it reaches the database."""

    regex = r"[A-Za-z0-9_-]{16,43}"


def _cart_param_schema(converter) -> dict:
    return {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,43}$"}


def _id_param_schema(converter) -> dict:
    return {"type": "integer", "minimum": converter.min, "maximum": converter.max}


class Api(SmorestApi):
    """flask-smorest Api whose documented error responses are problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            content_type = PROBLEM_CONTENT_TYPE if status >= 400 else self.DEFAULT_RESPONSE_CONTENT_TYPE
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def init_app(self, app, *, spec_kwargs=None):
        app.url_map.converters["int"] = IdConverter
        app.url_map.converters["cart"] = CartIdConverter
        super().init_app(app, spec_kwargs=spec_kwargs)
        self.register_converter(IdConverter, _id_param_schema)
        self.register_converter(CartIdConverter, _cart_param_schema)


# One commit per request, at its end: objects need not be reloaded from the database after it.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate(render_as_batch=True, compare_type=True)
api = Api()
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
cors = CORS()
