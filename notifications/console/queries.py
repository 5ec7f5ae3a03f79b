"""The console's list: a page of campaigns and each one's headline figures, in three grouped
statements for the whole page (not a report per campaign)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from notifications.campaigns import service
from notifications.campaigns.models import Campaign, Conversion, Enrolment, StepRun
from shop.core.extensions import db
from shop.core.pagination import Page

PAGE_SIZE = 50


@dataclass(frozen=True)
class Headline:
    campaign: Campaign
    enrolled: int = 0
    active: int = 0
    sent: int = 0
    orders: int = 0
    revenue: int = 0
    currency: str | None = None


def _grouped(stmt, ids: list[int]) -> dict[int, tuple]:
    return {row[0]: tuple(row[1:]) for row in db.session.execute(stmt)} if ids else {}


def campaigns(cursor: str | None) -> tuple[list[Headline], Page]:
    """A page of campaigns, oldest first (the API's order), with enrolled (and still active), messages
    sent, orders and revenue credited."""
    page = service.listed(limit=PAGE_SIZE, cursor=cursor)
    ids = [c.id for c in page.items]
    enrolled = _grouped(select(Enrolment.campaign_id, func.count(), func.count().filter(Enrolment.status == "active"))
                        .where(Enrolment.campaign_id.in_(ids)).group_by(Enrolment.campaign_id), ids)
    sent = _grouped(select(StepRun.campaign_id, func.count())
                    .where(StepRun.campaign_id.in_(ids), StepRun.outcome == "sent").group_by(StepRun.campaign_id), ids)
    credited = _grouped(select(Conversion.campaign_id, func.count(), func.sum(Conversion.revenue),
                               func.max(Conversion.currency))
                        .where(Conversion.campaign_id.in_(ids)).group_by(Conversion.campaign_id), ids)
    rows = []
    for campaign in page.items:
        count, active = enrolled.get(campaign.id, (0, 0))
        orders, revenue, currency = credited.get(campaign.id, (0, 0, None))
        rows.append(Headline(campaign, count, active, sent.get(campaign.id, (0,))[0], orders, int(revenue or 0),
                             currency))
    return rows, page
