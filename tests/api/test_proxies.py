"""Behind a reverse proxy: X-Forwarded-For decides who a rate limit counts only when TRUSTED_PROXIES says
a proxy sets it; otherwise anyone could send it and pick the address they are counted under."""

from __future__ import annotations

import itertools

import pytest

from tests.support.app import make_app

_n = itertools.count()


def sign_in(client, forwarded_for: str | None = None, scheme: str = "http"):
    """A wrong password for a new email each time (so only the per-address limit can say no)."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    headers["X-Forwarded-Proto"] = "https"
    return client.post("/api/v1/auth/tokens", json={"email": f"nobody{next(_n)}@example.com", "password": "wrong"},
                       headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"}, base_url=f"{scheme}://localhost")


@pytest.fixture
def behind_one_proxy(app, database_url):
    proxied = make_app(database_url, TRUSTED_PROXIES=1, TOKEN_RATE_LIMIT_PER_ADDRESS="2/minute")
    with proxied.app_context():
        yield proxied.test_client()


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(client, monkeypatch):
    monkeypatch.setitem(client.application.config, "TOKEN_RATE_LIMIT_PER_ADDRESS", "2/minute")
    answers = [sign_in(client, forwarded_for=f"198.51.100.{i}").status_code for i in range(3)]
    assert answers == [401, 401, 429]  # one client (the socket's address), whatever it claims


def test_behind_one_proxy_each_client_is_counted_by_its_own_address(behind_one_proxy):
    assert [sign_in(behind_one_proxy, forwarded_for=f"198.51.100.{i}").status_code for i in range(3)] == [401] * 3
    same = [sign_in(behind_one_proxy, forwarded_for="198.51.100.7").status_code for _ in range(3)]
    assert same == [401, 401, 429]
    # A client's own X-Forwarded-For is left of what the proxy appends: it changes nothing.
    spoofed = [sign_in(behind_one_proxy, forwarded_for=f"203.0.113.{i}, 198.51.100.7").status_code
               for i in range(2)]
    assert spoofed == [429, 429]


def test_behind_one_proxy_the_scheme_comes_from_x_forwarded_proto(behind_one_proxy):
    seen = {}

    @behind_one_proxy.application.before_request
    def _look():
        from flask import request

        seen["scheme"], seen["address"] = request.scheme, request.remote_addr

    sign_in(behind_one_proxy, forwarded_for="198.51.100.9")
    assert seen == {"scheme": "https", "address": "198.51.100.9"}


@pytest.mark.parametrize("wrong", [-1, "1", True])
def test_a_wrong_number_of_proxies_stops_the_app_at_start(database_url, wrong):
    with pytest.raises(RuntimeError, match="TRUSTED_PROXIES"):
        make_app(database_url, TRUSTED_PROXIES=wrong)
