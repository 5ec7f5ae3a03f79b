"""create_app(): configuration, extensions, blueprints, error handlers, CLI, sweeps and notifications."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

import notifications
from shop import config as settings
from shop.core import database, errors, metrics, pages, plans, proxies, rate_limits, security, sqlite
from shop.core.extensions import api, cors, db, migrate
from shop.core.logs import configure_logging

HOLDS_BATCH = 100  # expired holds released per transaction by the sweep
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
    settings.check_timeouts(app.config)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = database.engine_options(app.config)

    configure_logging(app)
    security.init_app(app)
    proxies.init_app(app)
    _register_models()
    db.init_app(app)
    metrics.init_app(app)  # first of the request hooks that touch the database: it times them too
    database.init_app(app)
    plans.init_app(app)
    sqlite.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    rate_limits.init_app(app)
    cors.init_app(
        app,
        resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"]}},
        allow_headers=CORS_HEADERS,
        expose_headers=CORS_EXPOSED,
        supports_credentials=False,
    )
    pages.init_app(app)
    api.init_app(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "POST /auth/tokens"}
    )
    _register_blueprints(app)
    errors.register(app)

    from shop.cli import shop_cli
    from shop.core.scheduler import scheduler_cli

    app.cli.add_command(shop_cli)
    app.cli.add_command(scheduler_cli)
    _register_sweeps(app)
    _register_gauges(app)
    from shop.accounts import guest_history, timeline

    timeline.init_app(app)
    guest_history.init_app(app)
    _provide_ports(app)
    notifications.init_app(app)
    return app


def _register_models() -> None:
    """Import every model module so the metadata (and Alembic) sees all tables."""
    import inventory.models  # noqa: F401
    import shop.accounts.models  # noqa: F401
    import shop.carts.models  # noqa: F401
    import shop.core.idempotency  # noqa: F401
    import shop.core.leases  # noqa: F401
    import shop.orders.models  # noqa: F401
    import shop.payments.models  # noqa: F401
    import stores.models  # noqa: F401


def _provide_ports(app: Flask) -> None:
    """The one place the shop answers notifications' questions (shop.core.ports): one provider each."""
    from inventory import ports as inventory_ports
    from shop.carts import ports as cart_ports
    from shop.core import ports
    from shop.orders import ports as order_ports
    from stores import services as store_services

    for module in (inventory_ports, cart_ports, order_ports):
        module.provide(app)
    ports.provide(app, "store_label", store_services.label)


def _register_sweeps(app: Flask) -> None:
    """What `flask scheduler run` fires, and how often (docs/configuration.md); nothing starts here.
    Registration order is `--once` order: reconciliation looks before the no-show sweep, so a
    capture whose reply was lost is a handover, never a no-show. The order sweeps and the holds'
    batches own their transactions (shop.core.sweeps: one order, or one batch, each)."""
    from inventory import reservations
    from shop.carts import abandonment
    from shop.core import sweeps as runner
    from shop.core.scheduler import register_sweep
    from shop.orders import reconcile, refunds_in_flight
    from shop.orders import sweeps as order_sweeps

    def release_expired_holds() -> int:
        return runner.repeat("release_expired_holds", lambda: reservations.release_expired(limit=HOLDS_BATCH))

    for name, setting, fn in (
        ("release_expired_holds", "HOLDS_SWEEP_SECONDS", release_expired_holds),
        ("expire_unpaid", "UNPAID_SWEEP_SECONDS", order_sweeps.expire_unpaid),
        ("reconcile", "RECONCILE_SWEEP_SECONDS", reconcile.reconcile),
        ("settle_refunds", "REFUNDS_SWEEP_SECONDS", refunds_in_flight.settle_refunds),
        ("expire_no_shows", "NO_SHOWS_SWEEP_SECONDS", order_sweeps.expire_no_shows),
        ("send_reminders", "REMINDERS_SWEEP_SECONDS", order_sweeps.send_reminders),
        ("retry_voids", "VOIDS_SWEEP_SECONDS", order_sweeps.retry_voids),
        ("find_abandoned_carts", "ABANDONED_CARTS_SWEEP_SECONDS", abandonment.sweep),
    ):
        register_sweep(app, name, app.config[setting], fn)


def _register_gauges(app: Flask) -> None:
    """What /metrics reads from the database when scraped (one indexed query each); notifications
    registers the outbox's own."""
    from inventory import stock_events
    from shop.core import leases
    from shop.core.scheduler import LEASE

    metrics.register_gauges(
        app, "holds", {"omnishop_holds_at_risk": "Open holds that stock on hand no longer covers (unexpired)."},
        lambda: {"omnishop_holds_at_risk": stock_events.count_at_risk()})
    metrics.register_gauges(
        app, "scheduler_lease", {"omnishop_scheduler_lease_seconds_left": "Seconds until the scheduler leader's "
                                 "lease lapses; 0 or less: no process leads, no sweep runs."},
        lambda: {"omnishop_scheduler_lease_seconds_left": leases.seconds_left(LEASE)})


def _register_blueprints(app: Flask) -> None:
    from inventory.views import products, reservations, stock
    from shop.accounts import views as accounts
    from shop.carts import coupon_views as coupons
    from shop.carts import views as carts
    from shop.core.api_docs import bp as api_docs_bp
    from shop.core.health import bp as health_bp
    from shop.core.metrics_endpoint import bp as metrics_bp
    from shop.orders import views as orders
    from shop.payments import views as payments
    from shop.tablet.views import bp as tablet_bp
    from stores import views as stores

    prefix = "/api/v1"
    modules = (accounts, stores, products, stock, reservations, carts, coupons, orders, payments)
    for module in modules:
        api.register_blueprint(module.blp, url_prefix=prefix)
    app.register_blueprint(health_bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(api_docs_bp)
    app.register_blueprint(tablet_bp)
