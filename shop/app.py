"""create_app(): configuration, extensions, blueprints, error handlers, CLI and notifications."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

import notifications
from shop import config as settings
from shop.core import errors, plans, rate_limits, security
from shop.core.extensions import api, cors, db, migrate
from shop.core.logs import configure_logging

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
CORS_HEADERS = ["Authorization", "Content-Type", "If-Match", "Idempotency-Key", "X-Request-ID",
                "X-Channel", "X-Order-Token", "X-Store-ID"]
CORS_EXPOSED = ["ETag", "X-Request-ID", "Retry-After", "Location", "Link", "X-Next-Cursor"]


def create_app(config: dict | None = None) -> Flask:
    """Build the WSGI app; `config` overrides what the environment says (tests use it)."""
    app = Flask(__name__, instance_path=settings.INSTANCE_DIR.as_posix())
    app.config.update(settings.load())
    if config:
        app.config.update(config)
    app.config["SQLALCHEMY_DATABASE_URI"] = settings.normalize_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    configure_logging(app)
    security.init_app(app)
    _register_models()
    db.init_app(app)
    plans.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    rate_limits.init_app(app)
    cors.init_app(
        app,
        resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"]}},
        allow_headers=CORS_HEADERS,
        expose_headers=CORS_EXPOSED,
        supports_credentials=False,
    )
    api.init_app(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "POST /auth/tokens"}
    )
    _register_blueprints(app)
    errors.register(app)

    from shop.cli import shop_cli

    app.cli.add_command(shop_cli)
    from shop.accounts import guest_history, timeline

    timeline.init_app(app)
    guest_history.init_app(app)
    notifications.init_app(app)
    return app


def _register_models() -> None:
    """Import every model module so the metadata (and Alembic) sees all tables."""
    import inventory.models  # noqa: F401
    import shop.accounts.models  # noqa: F401
    import shop.carts.models  # noqa: F401
    import shop.core.idempotency  # noqa: F401
    import shop.orders.models  # noqa: F401
    import shop.payments.models  # noqa: F401
    import stores.models  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from inventory.views import products, reservations, stock
    from shop.accounts import views as accounts
    from shop.carts import views as carts
    from shop.core.health import bp as health_bp
    from shop.orders import views as orders
    from shop.payments import views as payments
    from stores import views as stores

    prefix = "/api/v1"
    modules = (accounts, stores, products, stock, reservations, carts, orders, payments)
    for module in modules:
        api.register_blueprint(module.blp, url_prefix=prefix)
    app.register_blueprint(health_bp)
