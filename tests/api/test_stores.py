"""Stores: admin manages them; anyone finds them by distance, open now in their own local time."""

from __future__ import annotations

import datetime as dt

import pytest

from shop.core.clock import clock
from shop.core.extensions import db
from stores.models import Store
from tests.support import factories as f
from tests.support.problems import assert_problem

NYC = {"code": "NYC01", "name": "SoHo", "latitude": 40.7245, "longitude": -73.9986,
       "timezone": "America/New_York",
       "hours": [{"weekday": d, "opens": "09:00", "closes": "21:00"} for d in range(7)]}
CHI = {**NYC, "code": "CHI01", "name": "Loop", "latitude": 41.8827, "longitude": -87.6278,
       "timezone": "America/Chicago"}
JERSEY = {**NYC, "code": "JC01", "name": "Jersey City", "latitude": 40.7178, "longitude": -74.0431,
          "hours": [{"weekday": d, "opens": "10:00", "closes": "01:00"} for d in range(7)]}


@pytest.fixture
def admin(app):
    u = f.user("admin")
    db.session.commit()
    return f.bearer(u)


@pytest.fixture
def frozen(monkeypatch):
    def freeze(when: dt.datetime):
        monkeypatch.setattr(clock, "now", lambda: when)
    return freeze


def create(client, admin, body):
    resp = client.post("/api/v1/stores", json=body, headers=admin)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_admin_creates_a_store_with_hours(client, admin):
    body = create(client, admin, NYC)
    assert body["timezone"] == "America/New_York" and body["pickup_enabled"] is True
    assert len(body["hours"]) == 7 and body["hours"][0]["opens"] == "09:00"
    got = client.get(f"/api/v1/stores/{body['id']}").get_json()
    assert got["code"] == "NYC01" and "is_open_now" in got


def test_only_admins_manage_stores(client, app):
    s = f.store()
    staff = f.user("staff", [s])
    db.session.commit()
    assert_problem(client.post("/api/v1/stores", json=NYC), 401, "unauthorized")
    assert_problem(client.post("/api/v1/stores", json=NYC, headers=f.bearer(staff)), 403, "forbidden")
    assert_problem(client.patch(f"/api/v1/stores/{s.id}", json={"name": "x"}, headers=f.bearer(staff)),
                   403, "forbidden")


@pytest.mark.parametrize("change, field", [
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"timezone": "../../etc/passwd"}, "timezone"),
    ({"latitude": 91}, "latitude"),
    ({"hold_days": 9}, "hold_days"),
    ({"hold_days": 2.5}, "hold_days"),
    ({"hours": [{"weekday": 1, "opens": "09:00", "closes": "17:00"}] * 2}, "hours"),
    ({"hours": [{"weekday": 7, "opens": "09:00", "closes": "17:00"}]}, "hours"),
    ({"code": "lower case"}, "code"),
])
def test_bad_store_input_is_refused_and_nothing_written(client, admin, change, field):
    body = assert_problem(client.post("/api/v1/stores", json={**NYC, **change}, headers=admin),
                          422, "validation_error")
    assert field in body["errors"]
    assert db.session.scalar(db.select(db.func.count(Store.id))) == 0


def test_store_code_is_unique(client, admin):
    create(client, admin, NYC)
    assert_problem(client.post("/api/v1/stores", json=NYC, headers=admin), 409, "store_code_taken")


def test_hold_period_that_could_outlive_a_card_authorisation_is_refused(client, admin):
    body = assert_problem(client.post("/api/v1/stores", json={**NYC, "hold_days": 7}, headers=admin),
                          422, "validation_error")
    assert "authorisation" in body["errors"]["hold_days"][0]


def test_near_sorts_by_distance_and_radius_filters(client, admin):
    for body in (CHI, NYC, JERSEY):
        create(client, admin, body)
    near = client.get("/api/v1/stores?near=40.73,-74.00&radius_km=20").get_json()
    assert [s["code"] for s in near] == ["NYC01", "JC01"]
    assert near[0]["distance_km"] < near[1]["distance_km"] < 20
    wide = client.get("/api/v1/stores?near=40.73,-74.00&radius_km=2000").get_json()
    assert [s["code"] for s in wide] == ["NYC01", "JC01", "CHI01"]


def test_open_now_uses_each_stores_local_time(client, admin, frozen):
    for body in (CHI, NYC, JERSEY):
        create(client, admin, body)
    # 02:30 UTC on a Wednesday = 21:30 Tuesday in New York, 20:30 in Chicago.
    frozen(dt.datetime(2026, 11, 25, 2, 30, tzinfo=dt.UTC))
    open_codes = {s["code"] for s in client.get("/api/v1/stores?open_now=true").get_json()}
    assert open_codes == {"CHI01", "JC01"}  # Chicago till 21:00 local; Jersey City past midnight
    nyc = client.get("/api/v1/stores?open_now=false").get_json()[0]
    assert nyc["code"] == "NYC01" and nyc["is_open_now"] is False
    assert nyc["opens_at"] == "2026-11-25T09:00:00-05:00"


def test_patch_replaces_hours_and_keeps_the_rest(client, admin):
    store = create(client, admin, {**NYC, "hold_days": 2})
    resp = client.patch(f"/api/v1/stores/{store['id']}", headers=admin,
                        json={"hours": [{"weekday": 0, "opens": "08:00", "closes": "12:00"}],
                              "exceptions": [{"date": "2026-12-25"}]})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["hours"] == [{"weekday": 0, "opens": "08:00", "closes": "12:00"}]
    assert body["exceptions"][0]["date"] == "2026-12-25" and body["exceptions"][0]["opens"] is None
    assert body["hold_days"] == 2 and body["name"] == "SoHo"


def test_bad_near_is_a_clear_error(client):
    for near in ("abc", "91,0", "40.7", "1,2,3"):
        body = assert_problem(client.get(f"/api/v1/stores?near={near}"), 422, "validation_error")
        assert "near" in body["errors"]


def test_unknown_store_is_404(client):
    assert_problem(client.get("/api/v1/stores/999"), 404, "store_not_found")
    assert_problem(client.get("/api/v1/stores/99999999999"), 404, "not_found")
