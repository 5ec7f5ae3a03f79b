"""Helpers for the campaign tests: the demo campaign, marketing consent, and the sweeps a scheduler
would run (find abandoned carts, advance campaigns, deliver the outbox), in that order."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from notifications import consent
from notifications.campaigns import advance, demo
from notifications.campaigns.models import Campaign, Enrolment, StepRun
from notifications.delivery import deliver_due
from shop.carts import abandonment
from shop.core.extensions import db
from tests.support import factories as f

WORDING = "Send me offers (test)."
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def morning(frozen_clock):
    """The frozen clock at 10:00 in New York on a Tuesday (marketing texts may go out)."""
    frozen_clock.set(dt.datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK))
    return frozen_clock


def demo_campaign() -> int:
    """The demo's abandoned-cart campaign, active: email at 1 h, text at 24 h, coupon email at 72 h."""
    campaign = demo.ensure_default()
    db.session.commit()
    return campaign.id


def grant(channel: str, *, email: str | None = None, phone: str | None = None, customer_id: int | None = None,
          state: str = "granted") -> None:
    consent.record(channel, "marketing", state, "web", WORDING, customer_id=customer_id, email=email, phone=phone)
    db.session.commit()


def tick() -> dict:
    """One round of the scheduler's sweeps: abandoned carts, campaign steps, then delivery."""
    found = abandonment.sweep()
    advanced = advance.sweep()
    delivered = deliver_due()
    db.session.expire_all()
    return {"abandoned": found, "advanced": advanced, **delivered}


def enrolments(campaign_id: int | None = None) -> list[Enrolment]:
    stmt = select(Enrolment).order_by(Enrolment.id).execution_options(populate_existing=True)
    if campaign_id is not None:
        stmt = stmt.where(Enrolment.campaign_id == campaign_id)
    return list(db.session.scalars(stmt))


def runs(enrolment_id: int) -> list[StepRun]:
    return list(db.session.scalars(select(StepRun).where(StepRun.enrolment_id == enrolment_id)
                                   .order_by(StepRun.step).execution_options(populate_existing=True)))


def campaign(campaign_id: int) -> Campaign:
    return db.session.get(Campaign, campaign_id, populate_existing=True)


def recovery_path(url: str) -> str:
    """The API path of a recovery link in a message (PUBLIC_BASE_URL/api/v1/carts/recover/<token>)."""
    return url[url.index("/api/v1/"):]


def marketer() -> dict:
    """Bearer headers of a new marketing user."""
    user = f.user("marketing")
    db.session.commit()
    return f.bearer(user)


def launch(client, headers: dict, trigger: str, steps: list[dict], **body) -> int:
    """A campaign created through the API and activated; its id."""
    created = client.post("/api/v1/campaigns", json={"name": f"{trigger} campaign", "trigger": trigger,
                                                     "steps": steps, **body}, headers=headers)
    assert created.status_code == 201, created.get_json()
    campaign_id = created.get_json()["id"]
    activated = client.post(f"/api/v1/campaigns/{campaign_id}/activate", headers=headers)
    assert activated.status_code == 200, activated.get_json()
    return campaign_id
