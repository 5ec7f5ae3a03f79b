"""Every HTML page carries the security headers and runs no inline script; JSON replies stay lean."""

from __future__ import annotations

import re

from flask import Response


def _directives(policy: str) -> dict[str, str]:
    return {d.strip().split(" ", 1)[0]: d.strip().partition(" ")[2] for d in policy.split(";") if d.strip()}


def test_the_api_docs_page_carries_the_headers_and_no_inline_script(client):
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    policy = _directives(resp.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"  # never leaves the site (shop/core/pages.py)
    html = resp.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all("src=" in attributes for attributes in scripts)  # no inline script at all
    assert client.get("/static/api-docs.js").status_code == 200


def test_any_html_page_gets_them_whoever_adds_it(app):
    with app.test_request_context("/"):
        page = app.process_response(Response("<p>a page</p>", mimetype="text/html"))
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_json_replies_do_not_carry_the_page_headers(client):
    resp = client.get("/api/v1/stores")
    assert resp.status_code == 200 and "Content-Security-Policy" not in resp.headers
