"""GET /metrics: the Prometheus text format, for a scraper holding METRICS_TOKEN (404 while it is unset).

What the processes recorded (shop.core.metrics) comes from every worker's files under gunicorn
(PROMETHEUS_MULTIPROC_DIR) or from this process's registry otherwise; the database figures
(`register_gauges`) are read now, one query each, and a source whose query fails is reported as
`omnishop_scrape_source_up{source} 0` instead of failing the scrape. Why a token and not a
separate bind: docs/operations.md#metrics.
"""

from __future__ import annotations

import hmac
import logging
import os

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from shop.core.extensions import db
from shop.core.metrics import registered_gauges

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)


class ScrapeGauges:
    """A collector (prometheus-client's protocol) reading each registered source once per scrape."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self):
        up = GaugeMetricFamily("omnishop_scrape_source_up",
                               "1 when the source's query answered during this scrape, else 0.", labels=["source"])
        for source, helps, read in registered_gauges(self.app):
            try:
                values = read()
            except Exception as exc:  # the database is down or slow: say so, and still answer the scrape
                db.session.rollback()
                log.warning("metrics: %s could not be read: %s", source, type(exc).__name__)
                up.add_metric([source], 0)
                continue
            up.add_metric([source], 1)
            for name, text in helps.items():
                yield GaugeMetricFamily(name, text, value=float(values[name]))
        yield up


def exposition(app: Flask) -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        recorded = CollectorRegistry()
        MultiProcessCollector(recorded)
    else:
        recorded = REGISTRY
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(ScrapeGauges(app))
    return generate_latest(recorded) + generate_latest(scraped)


def _authorized() -> None:
    token = current_app.config["METRICS_TOKEN"]
    if not token:
        abort(404)  # not served at all: it looks like any other unknown path
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        # Plain 401 `unauthorized` (not a domain code: /metrics is not an API operation the spec lists).
        abort(401, description="Scraping needs the metrics token (METRICS_TOKEN).")


@bp.get("/metrics")
def metrics():
    _authorized()
    return Response(exposition(current_app._get_current_object()), content_type=CONTENT_TYPE_LATEST)
