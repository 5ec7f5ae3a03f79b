"""Every setting, read from the environment, each with a documented default (docs/configuration.md)."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from shop.core import limits

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("OMNISHOP_INSTANCE_DIR", PROJECT_ROOT / "instance"))


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be an integer, got {raw!r}") from exc


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be a number, got {raw!r}") from exc


def _env_time(name: str, default: str) -> str:
    """A time of day, HH:MM, checked at start."""
    raw = _env(name, "") or default
    try:
        dt.time.fromisoformat(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be a time of day HH:MM, got {raw!r}") from exc
    return raw


def _password_hash_method() -> str:
    method = _env("PASSWORD_HASH_METHOD", "") or "scrypt"
    if method.split(":", 1)[0] not in ("scrypt", "pbkdf2"):
        raise RuntimeError(f"PASSWORD_HASH_METHOD must be scrypt[:n:r:p] or pbkdf2:sha256[:iterations], got {method!r}")
    return method


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def normalize_database_url(url: str) -> str:
    """Accept the usual postgres:// spellings and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# A request calls the card service at most twice: a capture, then a look at what it did.
STRIPE_CALLS_PER_REQUEST = 2


def longest_wait_seconds(config: dict, limit: float) -> float:
    """The longest one round trip with this limit may wait (shop.core.suspicion): the limit, or,
    when it reaches the limit before the suspect point, the limit and then the probe."""
    after = config["DB_SUSPECT_AFTER_SECONDS"]
    if after <= 0:
        return limit
    return max(limit, min(after, limit) + config["DB_SUSPECT_PROBE_TIMEOUT_SECONDS"])


def slowest_request_seconds(config: dict) -> float:
    """How long a request takes when every wait it has uses its whole allowance: a pooled
    connection, its ping, a fresh one, one statement the server never answers, and two card-service
    calls."""
    ping = min(config["DB_PING_TIMEOUT_SECONDS"], config["DB_ANSWER_TIMEOUT_SECONDS"])
    return (config["DB_POOL_TIMEOUT_SECONDS"] + longest_wait_seconds(config, ping)
            + config["DB_CONNECT_TIMEOUT_SECONDS"] + longest_wait_seconds(config, config["DB_ANSWER_TIMEOUT_SECONDS"])
            + STRIPE_CALLS_PER_REQUEST * config["STRIPE_CALL_BUDGET_SECONDS"])


def check_timeouts(config: dict) -> None:
    """Refuse to start with timeouts that do not fit together: a worker killed by gunicorn answers
    nobody, and a client that gives up before the server cancels turns a slow query into an outage."""
    problems = []
    statement = config["DB_STATEMENT_TIMEOUT_MS"] / 1000
    answer = config["DB_ANSWER_TIMEOUT_SECONDS"]
    if answer <= 0:
        problems.append("DB_ANSWER_TIMEOUT_SECONDS must be positive")
    elif statement and answer <= statement:
        problems.append(f"DB_ANSWER_TIMEOUT_SECONDS ({answer:g}) must exceed DB_STATEMENT_TIMEOUT_MS ({statement:g} s)")
    after, probe = config["DB_SUSPECT_AFTER_SECONDS"], config["DB_SUSPECT_PROBE_TIMEOUT_SECONDS"]
    if after < 0:
        problems.append("DB_SUSPECT_AFTER_SECONDS must be 0 (no probe) or positive")
    elif after and probe <= 0:
        problems.append("DB_SUSPECT_PROBE_TIMEOUT_SECONDS must be positive while DB_SUSPECT_AFTER_SECONDS is set")
    attempt = config["STRIPE_CONNECT_TIMEOUT_SECONDS"] + config["STRIPE_READ_TIMEOUT_SECONDS"]
    if config["STRIPE_CALL_BUDGET_SECONDS"] < attempt:
        problems.append(f"STRIPE_CALL_BUDGET_SECONDS ({config['STRIPE_CALL_BUDGET_SECONDS']:g}) must hold one "
                        f"attempt: the connect plus the read timeout ({attempt:g} s)")
    slowest = slowest_request_seconds(config)
    if config["WORKER_TIMEOUT_SECONDS"] <= slowest:
        problems.append(f"WORKER_TIMEOUT_SECONDS ({config['WORKER_TIMEOUT_SECONDS']}) must exceed the slowest "
                        f"request the other timeouts allow ({slowest:g} s)")
    grace = config["REFUND_IN_FLIGHT_GRACE_SECONDS"]
    if grace <= config["WORKER_TIMEOUT_SECONDS"]:
        problems.append(f"REFUND_IN_FLIGHT_GRACE_SECONDS ({grace}) must exceed WORKER_TIMEOUT_SECONDS "
                        f"({config['WORKER_TIMEOUT_SECONDS']}): a refund younger may still be recorded by its request")
    if problems:
        raise RuntimeError("timeouts do not fit together: " + "; ".join(problems))


def load() -> dict:
    """The configuration as a dict for app.config, read now (so tests can set the environment)."""
    default_db = f"sqlite:///{INSTANCE_DIR / 'omnishop.db'}"
    return {
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(_env("DATABASE_URL", default_db)),
        # Explicit engine options win over the ones shop.core.database derives from the DB_* settings.
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # The database under faults (PostgreSQL only; docs/configuration.md says how they fit together).
        "DB_CONNECT_TIMEOUT_SECONDS": _env_int("DB_CONNECT_TIMEOUT_SECONDS", 2),
        "DB_STATEMENT_TIMEOUT_MS": _env_int("DB_STATEMENT_TIMEOUT_MS", 5000),
        "DB_LOCK_TIMEOUT_MS": _env_int("DB_LOCK_TIMEOUT_MS", 3000),
        "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": _env_int("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 60_000),
        "DB_ANSWER_TIMEOUT_SECONDS": _env_float("DB_ANSWER_TIMEOUT_SECONDS", 6.0),
        "DB_PING_TIMEOUT_SECONDS": _env_float("DB_PING_TIMEOUT_SECONDS", 1.0),
        # A wait quiet this long asks a fresh connection whether the server is silent or slow (0: never).
        "DB_SUSPECT_AFTER_SECONDS": _env_float("DB_SUSPECT_AFTER_SECONDS", 1.0),
        "DB_SUSPECT_PROBE_TIMEOUT_SECONDS": _env_float("DB_SUSPECT_PROBE_TIMEOUT_SECONDS", 0.5),
        "DB_POOL_TIMEOUT_SECONDS": _env_float("DB_POOL_TIMEOUT_SECONDS", 2.0),
        # Connections per process (each gunicorn worker, each scheduler): docs/scaling.md counts them.
        "DB_POOL_SIZE": _env_int("DB_POOL_SIZE", 5),
        "DB_POOL_MAX_OVERFLOW": _env_int("DB_POOL_MAX_OVERFLOW", 10),
        "DB_POOL_RECYCLE_SECONDS": _env_int("DB_POOL_RECYCLE_SECONDS", 1800),
        "DB_KEEPALIVES_IDLE_SECONDS": _env_int("DB_KEEPALIVES_IDLE_SECONDS", 10),
        "DB_KEEPALIVES_INTERVAL_SECONDS": _env_int("DB_KEEPALIVES_INTERVAL_SECONDS", 3),
        "DB_KEEPALIVES_COUNT": _env_int("DB_KEEPALIVES_COUNT", 3),
        "DB_TCP_USER_TIMEOUT_MS": _env_int("DB_TCP_USER_TIMEOUT_MS", 5000),
        "DB_RETRY_AFTER_SECONDS": _env_int("DB_RETRY_AFTER_SECONDS", 5),
        "DB_OUTAGE_LOG_INTERVAL_SECONDS": _env_float("DB_OUTAGE_LOG_INTERVAL_SECONDS", 30.0),
        "DB_OUTAGE_RETRY_SECONDS": _env_float("DB_OUTAGE_RETRY_SECONDS", 1.0),
        "READYZ_TIMEOUT_SECONDS": _env_float("READYZ_TIMEOUT_SECONDS", 1.5),
        "CUSTOMER_TOKEN_TTL_SECONDS": _env_int("CUSTOMER_TOKEN_TTL_SECONDS", 30 * 24 * 3600),
        "STAFF_TOKEN_TTL_SECONDS": _env_int("STAFF_TOKEN_TTL_SECONDS", 12 * 3600),
        "PASSWORD_HASH_METHOD": _password_hash_method(),
        # The largest `limit` of every list (shop.core.pagination); its default is shop.core.limits.MAX_PAGE_SIZE.
        "MAX_PAGE_SIZE": _env_int("MAX_PAGE_SIZE", limits.MAX_PAGE_SIZE),
        "TOKEN_RATE_LIMIT_PER_ADDRESS": _env("TOKEN_RATE_LIMIT_PER_ADDRESS", "20/minute"),
        "TOKEN_RATE_LIMIT_PER_ACCOUNT": _env("TOKEN_RATE_LIMIT_PER_ACCOUNT", "5/minute"),
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", "memory://"),
        # Reverse proxies in front of the app that set X-Forwarded-For/-Proto (shop.core.proxies); 0: none.
        "TRUSTED_PROXIES": _env_int("TRUSTED_PROXIES", 0),
        "RATELIMIT_HEADERS_ENABLED": True,
        "CORS_ORIGINS": _env_list("CORS_ORIGINS"),
        "LOG_LEVEL": _env("LOG_LEVEL", "INFO"),
        "RESERVATION_TTL_SECONDS": _env_int("RESERVATION_TTL_SECONDS", 15 * 60),
        "CART_RECOVERY_MAX_AGE_SECONDS": _env_int("CART_RECOVERY_MAX_AGE_SECONDS", 7 * 24 * 3600),
        "STOREFRONT_URL": _env("STOREFRONT_URL", ""),
        "STRIPE_SECRET_KEY": _env("STRIPE_SECRET_KEY", ""),
        "STRIPE_API_BASE": _env("STRIPE_API_BASE", ""),
        "STRIPE_WEBHOOK_SECRET": _env("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_WEBHOOK_TOLERANCE_SECONDS": _env_int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300),
        "STRIPE_CONNECT_TIMEOUT_SECONDS": _env_float("STRIPE_CONNECT_TIMEOUT_SECONDS", 2.0),
        "STRIPE_READ_TIMEOUT_SECONDS": _env_float("STRIPE_READ_TIMEOUT_SECONDS", 5.0),
        "STRIPE_MAX_NETWORK_RETRIES": _env_int("STRIPE_MAX_NETWORK_RETRIES", 1),
        "STRIPE_CALL_BUDGET_SECONDS": _env_float("STRIPE_CALL_BUDGET_SECONDS", 8.0),
        "WORKER_TIMEOUT_SECONDS": _env_int("WORKER_TIMEOUT_SECONDS", 30),
        # GET /metrics answers only a bearer of this token; unset, it is not served (docs/operations.md#metrics).
        "METRICS_TOKEN": _env("METRICS_TOKEN", ""),
        "PAYMENT_WINDOW_SECONDS": _env_int("PAYMENT_WINDOW_SECONDS", 15 * 60),
        "PICKUP_CODE_MAX_ATTEMPTS": _env_int("PICKUP_CODE_MAX_ATTEMPTS", 5),
        "PICKUP_CODE_LOCK_SECONDS": _env_int("PICKUP_CODE_LOCK_SECONDS", 15 * 60),
        "DEV_OUTBOX_DIR": _env("DEV_OUTBOX_DIR", str(INSTANCE_DIR / "outbox")),
        "MAIL_FROM": _env("MAIL_FROM", "Omnishop <no-reply@omnishop.local>"),
        "INSTANCE_DIR": str(INSTANCE_DIR),
        # flask-smorest / OpenAPI
        "API_TITLE": "Omnishop",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        # Served by Omnishop itself (shop/core/api_docs.py): a store network may have no internet.
        "OPENAPI_SWAGGER_UI_URL": "/assets/swagger-ui/",
        "MAX_CONTENT_LENGTH": _env_int("MAX_CONTENT_LENGTH", 1024 * 1024),
        # The scheduler (shop/core/scheduler.py, docs/operations.md): the leader's lease, each sweep's interval.
        "SCHEDULER_LEASE_SECONDS": _env_int("SCHEDULER_LEASE_SECONDS", 30),
        "SCHEDULER_RENEW_SECONDS": _env_int("SCHEDULER_RENEW_SECONDS", 10),
        "HOLDS_SWEEP_SECONDS": _env_int("HOLDS_SWEEP_SECONDS", 60),
        "UNPAID_SWEEP_SECONDS": _env_int("UNPAID_SWEEP_SECONDS", 60),
        "RECONCILE_SWEEP_SECONDS": _env_int("RECONCILE_SWEEP_SECONDS", 300),
        "REFUNDS_SWEEP_SECONDS": _env_int("REFUNDS_SWEEP_SECONDS", 120),
        "REFUND_IN_FLIGHT_GRACE_SECONDS": _env_int("REFUND_IN_FLIGHT_GRACE_SECONDS", 600),
        "NO_SHOWS_SWEEP_SECONDS": _env_int("NO_SHOWS_SWEEP_SECONDS", 300),
        "REMINDERS_SWEEP_SECONDS": _env_int("REMINDERS_SWEEP_SECONDS", 300),
        "PICKUP_REMINDER_LOCAL_TIME": _env_time("PICKUP_REMINDER_LOCAL_TIME", "10:00"),
        "VOIDS_SWEEP_SECONDS": _env_int("VOIDS_SWEEP_SECONDS", 120),
        "ABANDONED_CARTS_SWEEP_SECONDS": _env_int("ABANDONED_CARTS_SWEEP_SECONDS", 300),
        "CART_IDLE_SECONDS": _env_int("CART_IDLE_SECONDS", 3600),
        "CAMPAIGNS_SWEEP_SECONDS": _env_int("CAMPAIGNS_SWEEP_SECONDS", 60),
        # Messages (notifications/): senders, brand, delivery, consent and opt-out; MAIL_FROM and DEV_OUTBOX_DIR
        # are above.
        "PUBLIC_BASE_URL": _env("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        "MAIL_BACKEND": _env("MAIL_BACKEND", "file"),
        "MAIL_REPLY_TO": _env("MAIL_REPLY_TO", ""),
        "MAIL_SMTP_HOST": _env("MAIL_SMTP_HOST", "127.0.0.1"),
        "MAIL_SMTP_PORT": _env_int("MAIL_SMTP_PORT", 587),
        "MAIL_SMTP_SECURITY": _env("MAIL_SMTP_SECURITY", "starttls"),
        "MAIL_SMTP_USERNAME": _env("MAIL_SMTP_USERNAME", ""),
        "MAIL_SMTP_PASSWORD": _env("MAIL_SMTP_PASSWORD", ""),
        "MAIL_SMTP_TIMEOUT_SECONDS": _env_int("MAIL_SMTP_TIMEOUT_SECONDS", 10),
        "MAIL_SMTP_CA_FILE": _env("MAIL_SMTP_CA_FILE", ""),
        "CONSENT_CONFIRM_MAX_AGE_SECONDS": _env_int("CONSENT_CONFIRM_MAX_AGE_SECONDS", 7 * 24 * 3600),
        "OPT_IN_LAPSE_SWEEP_SECONDS": _env_int("OPT_IN_LAPSE_SWEEP_SECONDS", 3600),
        "SMS_BACKEND": _env("SMS_BACKEND", "file"),
        "SMS_FROM": _env("SMS_FROM", ""),
        "SMS_TWILIO_ACCOUNT_SID": _env("SMS_TWILIO_ACCOUNT_SID", ""),
        "SMS_TWILIO_AUTH_TOKEN": _env("SMS_TWILIO_AUTH_TOKEN", ""),
        "SMS_TWILIO_API_BASE": _env("SMS_TWILIO_API_BASE", "").rstrip("/"),
        "SMS_TIMEOUT_SECONDS": _env_int("SMS_TIMEOUT_SECONDS", 10),
        "SMS_DEFAULT_TIMEZONE": _env("SMS_DEFAULT_TIMEZONE", "UTC"),
        "BRAND_NAME": _env("BRAND_NAME", "Omnishop"),
        "BRAND_PRIMARY_COLOR": _env("BRAND_PRIMARY_COLOR", "#1f4e79"),
        "BRAND_ACCENT_COLOR": _env("BRAND_ACCENT_COLOR", "#f2a900"),
        "BRAND_LOGO_URL": _env("BRAND_LOGO_URL", ""),
        "BRAND_FOOTER": _env("BRAND_FOOTER", ""),
        "BRAND_POSTAL_ADDRESS": _env("BRAND_POSTAL_ADDRESS", "Omnishop (demo), 1 Example Street, Springfield"),
        "BRAND_SUPPORT_EMAIL": _env("BRAND_SUPPORT_EMAIL", "help@omnishop.local"),
        "OUTBOX_SWEEP_SECONDS": _env_int("OUTBOX_SWEEP_SECONDS", 15),
        "OUTBOX_MAX_ATTEMPTS": _env_int("OUTBOX_MAX_ATTEMPTS", 8),
        "OUTBOX_RETRY_BASE_SECONDS": _env_int("OUTBOX_RETRY_BASE_SECONDS", 60),
        "OUTBOX_RETRY_MAX_SECONDS": _env_int("OUTBOX_RETRY_MAX_SECONDS", 3600),
        "OUTBOX_SENDING_LEASE_SECONDS": _env_int("OUTBOX_SENDING_LEASE_SECONDS", 600),
        "SMS_HELP_FREQUENCY": _env("SMS_HELP_FREQUENCY",
                                   "Order texts: a few per order. Offers, if you asked: at most 1 a day."),
        # SMS keyword coupons (notifications.sms_keywords): KEYWORD=percent:VALUE:DAYS or
        # KEYWORD=fixed:MINOR_UNITS:CURRENCY:DAYS, comma-separated; empty: no keyword.
        "SMS_KEYWORDS": _env("SMS_KEYWORDS", ""),
        "SMS_KEYWORD_REPLY_HOURS": _env_int("SMS_KEYWORD_REPLY_HOURS", 24),
        "UNSUBSCRIBE_MAX_AGE_SECONDS": _env_int("UNSUBSCRIBE_MAX_AGE_SECONDS", 365 * 24 * 3600),
        # Pages (the tablet): a signed session cookie, Secure on HTTPS or when forced; idle sign-out.
        "SESSION_COOKIE_NAME": "omnishop_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env("SESSION_COOKIE_SECURE", "").lower() in ("1", "true", "yes"),
        "SESSION_IDLE_SECONDS": _env_int("SESSION_IDLE_SECONDS", 15 * 60),
        "TABLET_POLL_SECONDS": _env_int("TABLET_POLL_SECONDS", 5),
        **_trust_settings(),
    }


# Secrets, abuse limits and data rights (docs/security.md). Secrets come only from the environment;
# in development (OMNISHOP_ENV=development, as `make` sets it) a missing SECRET_KEY is generated
# once and kept in the instance folder, so `make run` needs no setup. Anywhere else
# shop.core.security refuses to start without a strong one.
DEV_SECRET_FILE = "dev-secret-key"  # noqa: S105 - a file name, not a secret


def _dev_secret() -> str:
    path = INSTANCE_DIR / DEV_SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _trust_settings() -> dict:
    env = _env("OMNISHOP_ENV", "production").strip().lower()
    secret = os.environ.get("SECRET_KEY", "")
    return {
        "OMNISHOP_ENV": env,
        "SECRET_KEY": secret or (_dev_secret() if env == "development" else ""),
        "SIGNUP_RATE_LIMIT": _env("SIGNUP_RATE_LIMIT", "10/hour"),
        "CHECKOUT_RATE_LIMIT": _env("CHECKOUT_RATE_LIMIT", "20/minute"),
        "COUPON_RATE_LIMIT": _env("COUPON_RATE_LIMIT", "10/minute"),
        "PICKUP_CODE_RATE_LIMIT": _env("PICKUP_CODE_RATE_LIMIT", "30/minute"),
        "WEBHOOK_RATE_LIMIT": _env("WEBHOOK_RATE_LIMIT", "300/minute"),
        "DATA_EXPORT_RATE_LIMIT": _env("DATA_EXPORT_RATE_LIMIT", "5/hour"),
    }
