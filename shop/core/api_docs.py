"""The API docs page (/api/v1/docs) served whole by Omnishop: Swagger UI's files come from the
pinned flask-swagger-ui package, never from a CDN (a store network may have no internet).

flask-smorest still serves the page; shop/templates/swagger_ui.html (the app's templates win over
an extension's) loads the files from here and starts Swagger UI from shop/static/api-docs.js, so the
page runs no inline script and keeps the same Content-Security-Policy as every other page.
"""

from __future__ import annotations

from importlib.resources import files

from flask import Blueprint

ASSETS_URL = "/assets/swagger-ui"
DIST = files("flask_swagger_ui") / "dist"

bp = Blueprint("api_docs", __name__, static_folder=str(DIST), static_url_path=ASSETS_URL)
