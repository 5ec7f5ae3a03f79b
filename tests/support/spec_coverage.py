"""A pytest plugin: every answer a test gets from the API must be documented for its operation.

Each response the app gives is recorded (operation, status, and the problem `code`); after each
test, any answer the OpenAPI spec does not list for that operation (a status it does not name, or
a code outside that status's `code` enum) fails the test that provoked it. So a new route, a new
raise or a new test cannot leave the spec behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import request, request_finished

from shop.core.extensions import api
from shop.core.http import PROBLEM_CONTENT_TYPE

API_PREFIX = "/api/v1/"
SPEC_ROUTES = {"/api/v1/openapi.json", "/api/v1/docs"}  # the spec and its viewer, not API operations
_METHOD = {"HEAD": "GET"}
_RULE_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@dataclass(frozen=True)
class Answer:
    path: str  # as the spec writes it: /api/v1/carts/{cart_id}
    method: str
    status: int
    code: str | None


_answers: list[Answer] = []


def spec_path(rule: str) -> str:
    return _RULE_ARG.sub(r"{\1}", rule)


def _record(sender, response, **_):
    rule = request.url_rule
    if rule is None or request.method == "OPTIONS":  # no operation: an unknown path, a CORS preflight
        return
    code = None
    if response.mimetype == PROBLEM_CONTENT_TYPE:
        body = response.get_json(silent=True)
        code = body.get("code") if isinstance(body, dict) else None
    _answers.append(Answer(spec_path(rule.rule), _METHOD.get(request.method, request.method).lower(), response.status_code, code))


def documented_codes(response: dict, spec: dict) -> set[str] | None:
    """The `code` enum of a documented problem response; None when it names no codes."""
    schema = response.get("content", {}).get(PROBLEM_CONTENT_TYPE, {}).get("schema", {})
    for part in schema.get("allOf", ()):
        enum = part.get("properties", {}).get("code", {}).get("enum")
        if enum is not None:
            return set(enum)
    return None


def undocumented(spec: dict, answers: list[Answer]) -> list[str]:
    """Each answer the spec does not document for its operation, described for a failure message."""
    problems = []
    for answer in dict.fromkeys(answers):
        operation = spec["paths"].get(answer.path, {}).get(answer.method)
        if operation is None:
            if answer.path.startswith(API_PREFIX) and answer.path not in SPEC_ROUTES:
                problems.append(f"{answer.method.upper()} {answer.path}: not in the spec at all")
            continue
        response = operation["responses"].get(str(answer.status))
        where = f"{answer.method.upper()} {answer.path} -> {answer.status}"
        if response is None:
            problems.append(f"{where} ({answer.code or 'no code'}): status not documented")
            continue
        codes = documented_codes(response, spec)
        if answer.code is not None and codes is not None and answer.code not in codes:
            problems.append(f"{where}: code {answer.code!r} not among {sorted(codes)}")
        if answer.status >= 400 and answer.code is not None and codes is None:
            problems.append(f"{where}: documented without its codes")
    return problems


_spec: dict | None = None


def current_spec() -> dict:
    """The spec as served (every app of a test run builds the same one)."""
    global _spec
    if _spec is None:
        _spec = api.spec.to_dict()
    return _spec


def pytest_configure(config):
    request_finished.connect(_record)


def pytest_unconfigure(config):
    request_finished.disconnect(_record)


@pytest.fixture(autouse=True)
def every_answer_is_documented():
    start = len(_answers)
    yield
    answers = _answers[start:]
    del _answers[start:]
    if answers:
        problems = undocumented(current_spec(), answers)
        if problems:
            pytest.fail("Answers missing from the OpenAPI spec (declare them with "
                        "shop.core.http.problems):\n  " + "\n  ".join(problems), pytrace=False)
