"""Log lines are JSON with the request id, and never carry passwords, tokens, cards or full phones."""

from __future__ import annotations

import io
import json
import logging

from shop.core.logs import RedactingJsonFormatter, RequestContextFilter, redact


def test_redact_removes_secrets():
    line = redact(
        'Authorization: Bearer abc.DEF-123 {"password": "hunter22", "token": "tok_1"} '
        "card 4242 4242 4242 4242 phone +14155550123"
    )
    for secret in ("abc.DEF-123", "hunter22", "tok_1", "4242 4242 4242 4242", "5550123"):
        assert secret not in line
    assert "+***23" in line


def test_log_records_are_json_lines_with_request_id(app):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingJsonFormatter("%(levelname)s %(message)s %(request_id)s"))
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("omnishop.test")
    logger.addHandler(handler)
    try:
        with app.test_request_context("/x"):
            from flask import g

            g.request_id = "req-42"
            logger.warning("signing in with password=%s", "hunter22")
    finally:
        logger.removeHandler(handler)
    record = json.loads(stream.getvalue().strip())
    assert record["request_id"] == "req-42"
    assert "hunter22" not in record["message"]


def test_requests_are_logged_with_their_id(client, capsys):
    client.post("/api/v1/auth/tokens", json={"email": "a@example.com", "password": "pw-secret-9"},
                headers={"X-Request-ID": "trace-77"})
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(r.get("request_id") == "trace-77" for r in lines)
    assert "pw-secret-9" not in err
