"""Campaigns as marketing manages them: create, edit while draft, activate, pause, test-send. Never commits."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from notifications import consent, preview
from notifications.campaigns.models import Campaign
from notifications.campaigns.schemas import audience_misfit
from notifications.outbox import enqueue
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.pagination import Page, keyset

TEST_SEND = "test_send"  # in a test message's context: the delivery re-check lets it through (recheck.py)


def get(campaign_id: int, *, lock: bool = False) -> Campaign:
    stmt = select(Campaign).where(Campaign.id == campaign_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    campaign = db.session.scalar(stmt)
    if campaign is None:
        raise DomainError("campaign_not_found", f"No campaign {campaign_id}.")
    return campaign


def listed(*, limit: int, cursor: str | None = None, status: str | None = None) -> Page:
    stmt = select(Campaign)
    if status is not None:
        stmt = stmt.where(Campaign.status == status)
    return keyset(stmt, [Campaign.id], limit=limit, cursor=cursor)


def create(data: dict) -> Campaign:
    campaign = Campaign(status="draft", **data)
    db.session.add(campaign)
    db.session.flush()
    return campaign


def update(campaign_id: int, changes: dict) -> Campaign:
    """A draft only: an active or paused campaign has enrolments on their way through its steps."""
    campaign = get(campaign_id, lock=True)
    if campaign.status != "draft":
        raise DomainError("campaign_not_draft", f"The campaign is {campaign.status}: only a draft is edited.",
                          status_now=campaign.status)
    for key, value in changes.items():
        setattr(campaign, key, value)
    if [s["delay_minutes"] for s in campaign.steps] != sorted(s["delay_minutes"] for s in campaign.steps):
        raise DomainError("validation_error", "Steps come in the order of their delays.")
    misfit = audience_misfit(campaign.trigger, campaign.audience)
    if misfit:
        raise DomainError("validation_error", misfit)
    db.session.flush()
    return campaign


def activate(campaign_id: int) -> Campaign:
    """Draft or paused -> active (active stays active): paused enrolments go on from their due step."""
    campaign = get(campaign_id, lock=True)
    if campaign.status != "active":
        campaign.status, campaign.activated_at = "active", clock.now()
    return campaign


def pause(campaign_id: int) -> Campaign:
    """Active -> paused (paused stays paused): no new enrolments, and due steps wait."""
    campaign = get(campaign_id, lock=True)
    if campaign.status == "draft":
        raise DomainError("campaign_not_active", "A draft is not running: activate it first.",
                          status_now=campaign.status)
    campaign.status = "paused"
    return campaign


def test_send(campaign_id: int, data: dict) -> dict:
    """Render one step with demo data and queue it to the address given, marked as a test (its
    dedupe key starts "campaign-test:", its context says test_send): the marketer sees what
    customers get, through the real outbox and sender."""
    campaign = get(campaign_id)
    if data["step"] > len(campaign.steps):
        raise DomainError("campaign_step_unknown", f"The campaign has {len(campaign.steps)} step(s).",
                          steps=len(campaign.steps))
    step = campaign.steps[data["step"] - 1]
    channel = step["channel"]
    to = data.get("to") or (data.get("email") if channel == "email" else data.get("phone"))
    if not to:
        field = "email" if channel == "email" else "phone"
        raise DomainError("campaign_no_address", f"Step {data['step']} is a {channel} message: give {field}.")
    to = consent.address_for(channel, to)
    context = {**preview.demo_context(step["template"]), TEST_SEND: True, "campaign_id": campaign.id}
    message = enqueue(template=step["template"], channel=channel, purpose="marketing", to=to,
                      dedupe_key=f"campaign-test:{campaign.id}:{data['step']}:{uuid.uuid4().hex}",
                      context=context, locale=data["locale"])
    return {"message_id": message.id, "channel": channel, "template": step["template"], "status": message.status}
