"""Signing in to a page area, the same on the counter tablet and the marketing console (one
mechanism, shop.accounts.sign_in_pages): only the area's roles get in, the form's token is needed,
and attempts are limited per account as on the API."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shop.core.extensions import db
from tests.support import console, tablet
from tests.support import factories as f


@dataclass(frozen=True)
class Area:
    world: str  # the fixture that makes its accounts
    sign_in: object
    path: str  # the sign-in page
    home: str  # a page of the area
    member: str  # an account the area serves
    refused_roles: tuple[str, ...]
    heading: str


AREAS = {
    "counter": Area("tablet_world", tablet.sign_in, "/tablet/sign-in", "/stores/NYC/tablet", "clerk@example.com",
                    ("customer", "marketing"), "Sign in to the counter"),
    "console": Area("console_world", console.sign_in, "/marketing/sign-in", "/marketing", "marketer@example.com",
                    ("customer", "staff"), "Sign in to the marketing console"),
}


@pytest.fixture(params=list(AREAS))
def area(request) -> Area:
    chosen = AREAS[request.param]
    request.getfixturevalue(chosen.world)
    return chosen


def test_only_the_areas_roles_with_the_right_password_get_in(client, area):
    stores = [f.store(code="ELSE")]
    refused = [f.user(role, stores if role == "staff" else (), email=f"{role}-x@example.com").email
               for role in area.refused_roles]
    db.session.commit()
    for email, password, status in [(area.member, "wrong-password", 401), ("nobody@example.com", tablet.PASSWORD, 401),
                                    *((email, tablet.PASSWORD, 403) for email in refused)]:
        resp = area.sign_in(client, email, password)
        assert resp.status_code == status, email
        assert area.heading in resp.get_data(as_text=True)
        assert client.get(area.home).status_code == 302  # still not signed in


def test_sign_in_without_the_form_token_is_refused(client, area):
    client.get(area.path)
    resp = client.post(area.path, data={"email": area.member, "password": tablet.PASSWORD})
    assert resp.status_code == 403
    assert client.get(area.home).status_code == 302


def test_sign_in_attempts_are_limited_per_account_as_on_the_api(client, area):
    answers = [area.sign_in(client, area.member, "wrong-password").status_code for _ in range(6)]
    assert answers == [401] * 5 + [429]
    resp = area.sign_in(client, area.member)  # even the right password waits now
    assert resp.status_code == 429 and "Too many attempts" in resp.get_data(as_text=True)
