"""The client behind our reverse proxies: werkzeug's ProxyFix, trusted for TRUSTED_PROXIES hops only.

Behind nginx every request comes from nginx's address, so rate limits keyed by address would count
all clients as one. With TRUSTED_PROXIES=N the app takes the client address from the N-th
X-Forwarded-For entry from the right (the one our outermost proxy appended) and the scheme from
X-Forwarded-Proto. With 0 (the default) both headers are ignored: without a proxy that sets them,
anyone could send them and pick the address a limit counts. X-Forwarded-Host, -Port and -Prefix are
never trusted (nginx passes a client's own through unless told to set them).
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    hops = app.config["TRUSTED_PROXIES"]
    if isinstance(hops, bool) or not isinstance(hops, int) or hops < 0:
        raise RuntimeError(f"TRUSTED_PROXIES must be the number of proxies in front of the app (0 or more), "
                           f"got {hops!r}")
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)
