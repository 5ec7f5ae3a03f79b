"""What every HTML page gets: security headers, and a session cookie that is Secure over HTTPS.

The pages (the tablet, the API docs) load nothing from another host and run no inline script, so
the policy can say 'self' for everything and frame-ancestors 'none' (no clickjacking of a page that
hands over goods).
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",  # Swagger UI draws its icons as data: SVGs
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HTML_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",  # the camera scans pickup QR codes
    "Cache-Control": "no-store",  # a page shows orders and shoppers' names: never from a shared cache
}


def _secure_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        for name, value in HTML_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, Secure whenever the request came over HTTPS (or the setting
    forces it), so one deployment serves the store network on either."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure

    def open_session(self, app: Flask, request):
        """Flask's, minus building the cookie's signer for a request that sent no cookie (every API
        call: ~30 us each, docs/performance.md): it starts an empty session either way."""
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    app.after_request(_secure_headers)
