"""Passwords are hashed by the configured method (scrypt unless told otherwise); changing it locks nobody out."""

from __future__ import annotations

import pytest

from shop import config
from shop.accounts.models import User
from shop.core.extensions import db
from tests.support.app import CHEAP_PASSWORD_HASH
from tests.support.problems import assert_problem


def sign_up(client, email: str):
    resp = client.post("/api/v1/customers", json={"email": email, "password": "pass-word-1", "name": "P"})
    assert resp.status_code == 202, resp.get_json()
    return db.session.scalar(db.select(User.password_hash).where(User.email == email))


def sign_in(client, email: str, password: str = "pass-word-1"):
    return client.post("/api/v1/auth/tokens", json={"email": email, "password": password})


def test_production_hashes_with_scrypt_and_a_new_method_locks_nobody_out(client, app, monkeypatch):
    monkeypatch.delenv("PASSWORD_HASH_METHOD", raising=False)
    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", config.load()["PASSWORD_HASH_METHOD"])
    assert sign_up(client, "early@example.com").startswith("scrypt:")
    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", CHEAP_PASSWORD_HASH)
    assert sign_up(client, "late@example.com").startswith(CHEAP_PASSWORD_HASH + "$")
    for email in ("early@example.com", "late@example.com"):
        assert sign_in(client, email).status_code == 201
        assert_problem(sign_in(client, email, "wrong-word-1"), 401, "invalid_credentials")
    assert_problem(sign_in(client, "nobody@example.com"), 401, "invalid_credentials")


@pytest.mark.parametrize("method", ["md5", "plain", "sha256"])
def test_an_unknown_method_stops_the_app_at_start(monkeypatch, method):
    monkeypatch.setenv("PASSWORD_HASH_METHOD", method)
    with pytest.raises(RuntimeError, match="PASSWORD_HASH_METHOD"):
        config.load()
