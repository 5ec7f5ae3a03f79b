"""The campaigns API as marketing uses it: create a draft, edit it while draft only, activate,
pause (enrolments wait) and resume, test-send through the real outbox, and what it refuses."""

from __future__ import annotations

import pytest

from notifications.delivery import deliver_due
from tests.support.campaigns import marketer
from tests.support.carts import problem
from tests.support.smtp import smtp_server  # noqa: F401 - fixture

STEPS = [{"delay_minutes": 60, "channel": "email", "template": "abandoned_cart_1"},
         {"delay_minutes": 1440, "channel": "sms", "template": "abandoned_cart_2"},
         {"delay_minutes": 4320, "channel": "email", "template": "abandoned_cart_3",
          "incentive": {"kind": "percent", "value": 10, "valid_days": 7}}]


@pytest.fixture
def headers(app):
    return marketer()


def create(client, headers, **changes):
    resp = client.post("/api/v1/campaigns", json={"name": "Carts", "trigger": "cart_abandoned", "steps": STEPS,
                                                  **changes}, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_a_draft_is_edited_then_activated_paused_and_resumed(client, headers):
    draft = create(client, headers, audience={"who": "guest", "min_cart_value": 2000})
    assert (draft["status"], draft["cooldown_days"], draft["attribution_days"]) == ("draft", 7, 5)
    assert draft["exit_on"] == ["order_placed", "cart_emptied", "unsubscribed"]
    url = f"/api/v1/campaigns/{draft['id']}"
    edited = client.patch(url, json={"name": "Abandoned carts", "cooldown_days": 14}, headers=headers).get_json()
    assert (edited["name"], edited["cooldown_days"], edited["audience"]["who"]) == ("Abandoned carts", 14, "guest")
    assert problem(client.post(f"{url}/pause", headers=headers)) == (409, "campaign_not_active")

    assert client.post(f"{url}/activate", headers=headers).get_json()["status"] == "active"
    assert problem(client.patch(url, json={"name": "Too late"}, headers=headers)) == (409, "campaign_not_draft")
    assert client.post(f"{url}/pause", headers=headers).get_json()["status"] == "paused"
    assert problem(client.patch(url, json={"name": "Still too late"}, headers=headers)) == (409, "campaign_not_draft")
    assert client.post(f"{url}/activate", headers=headers).get_json()["status"] == "active"

    listed = client.get("/api/v1/campaigns?status=active", headers=headers).get_json()
    assert [c["id"] for c in listed["items"]] == [draft["id"]]
    assert client.get("/api/v1/campaigns?status=draft", headers=headers).get_json()["items"] == []
    assert problem(client.get("/api/v1/campaigns/999999", headers=headers)) == (404, "campaign_not_found")


@pytest.mark.parametrize("body", [
    {"steps": [{"delay_minutes": 0, "channel": "email", "template": "abandoned_cart_2"}]},  # a text template
    {"steps": [{"delay_minutes": 0, "channel": "sms", "template": "no_such_template"}]},
    {"steps": [STEPS[1], STEPS[0]]},  # out of order
    {"steps": [{**STEPS[2], "incentive": {"kind": "percent", "value": 150, "valid_days": 7}}]},
    {"steps": []},
    {"trigger": "birthday"},
    {"audience": {"who": "robots"}},
    {"exit_on": ["bored"]},
])
def test_a_bad_campaign_is_refused_and_changes_nothing(client, headers, body):
    base = {"name": "Bad", "trigger": "cart_abandoned", "steps": STEPS}
    assert problem(client.post("/api/v1/campaigns", json={**base, **body}, headers=headers)) == (422, "validation_error")
    assert client.get("/api/v1/campaigns", headers=headers).get_json()["items"] == []


def test_a_test_send_goes_through_the_outbox_marked_as_a_test(client, headers, smtp_server):  # noqa: F811
    campaign = create(client, headers)
    url = f"/api/v1/campaigns/{campaign['id']}/test-send"
    sent = client.post(url, json={"to": "Mia@Example.com", "step": 3}, headers=headers)
    assert sent.status_code == 202 and sent.get_json()["template"] == "abandoned_cart_3"
    deliver_due()
    [mail] = smtp_server.to("mia@example.com")  # no consent asked: it is marketing's own address
    assert mail["Subject"] == "10% off your cart, for 7 days" and mail["List-Unsubscribe"]
    assert problem(client.post(url, json={"email": "mia@example.com", "step": 2}, headers=headers)) == (
        422, "campaign_no_address")
    assert problem(client.post(url, json={"phone": "+14155550100", "step": 4}, headers=headers)) == (
        422, "campaign_step_unknown")
