"""Every setting, read from the environment, each with a documented default (docs/configuration.md)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

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


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def normalize_database_url(url: str) -> str:
    """Accept the usual postgres:// spellings and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load() -> dict:
    """The configuration as a dict for app.config, read now (so tests can set the environment)."""
    default_db = f"sqlite:///{INSTANCE_DIR / 'omnishop.db'}"
    return {
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(_env("DATABASE_URL", default_db)),
        # A connection, and any plan prepared on it (shop/plans.py), lives at most 30 minutes.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_recycle": 1800},
        "CUSTOMER_TOKEN_TTL_SECONDS": _env_int("CUSTOMER_TOKEN_TTL_SECONDS", 30 * 24 * 3600),
        "STAFF_TOKEN_TTL_SECONDS": _env_int("STAFF_TOKEN_TTL_SECONDS", 12 * 3600),
        "TOKEN_RATE_LIMIT_PER_ADDRESS": _env("TOKEN_RATE_LIMIT_PER_ADDRESS", "20/minute"),
        "TOKEN_RATE_LIMIT_PER_ACCOUNT": _env("TOKEN_RATE_LIMIT_PER_ACCOUNT", "5/minute"),
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", "memory://"),
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
        "PAYMENT_WINDOW_SECONDS": _env_int("PAYMENT_WINDOW_SECONDS", 15 * 60),
        "PICKUP_CODE_MAX_ATTEMPTS": _env_int("PICKUP_CODE_MAX_ATTEMPTS", 5),
        "PICKUP_CODE_LOCK_SECONDS": _env_int("PICKUP_CODE_LOCK_SECONDS", 15 * 60),
        "DEV_OUTBOX_DIR": _env("DEV_OUTBOX_DIR", str(INSTANCE_DIR / "outbox")),
        "MAIL_FROM": _env("MAIL_FROM", "Omnishop <no-reply@omnishop.local>"),
        "MAX_PAGE_SIZE": _env_int("MAX_PAGE_SIZE", 100),
        "INSTANCE_DIR": str(INSTANCE_DIR),
        # flask-smorest / OpenAPI
        "API_TITLE": "Omnishop",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": _env(
            "OPENAPI_SWAGGER_UI_URL", "https://cdn.jsdelivr.net/npm/swagger-ui-dist/"
        ),
        "MAX_CONTENT_LENGTH": _env_int("MAX_CONTENT_LENGTH", 1024 * 1024),
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
