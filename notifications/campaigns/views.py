"""The campaigns API, for marketing (and admin): list, create, edit a draft, activate, pause,
test-send, report."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from notifications.campaigns import report, service
from notifications.campaigns.schemas import (
    CampaignInSchema,
    CampaignPatchSchema,
    CampaignSchema,
    CampaignsPageSchema,
    CampaignsQuerySchema,
    ReportQuerySchema,
    ReportSchema,
    TestSendSchema,
    TestSentSchema,
)
from shop.accounts import auth
from shop.core.http import problems
from shop.core.pagination import PAGE_HEADERS
from shop.core.transactions import transactional

blp = Blueprint("campaigns", __name__, description="Marketing's campaigns: triggers, steps, reports")
MARKETING = ("marketing", "admin")


@blp.route("/campaigns")
class Campaigns(MethodView):
    @auth.roles_required(*MARKETING)
    @blp.arguments(CampaignsQuerySchema(), location="query")
    @blp.response(200, CampaignsPageSchema, headers=PAGE_HEADERS)
    def get(self, args):
        """Campaigns, oldest first (by status, if asked)."""
        page = service.listed(**args)
        return page.as_dict(), page.headers

    @auth.roles_required(*MARKETING)
    @blp.arguments(CampaignInSchema())
    @transactional
    @blp.response(201, CampaignSchema)
    def post(self, data):
        """Create a campaign, as a draft."""
        return service.create(data)


@blp.route("/campaigns/<int:campaign_id>")
class CampaignItem(MethodView):
    @auth.roles_required(*MARKETING)
    @blp.response(200, CampaignSchema)
    @problems("campaign_not_found")
    def get(self, campaign_id):
        """One campaign."""
        return service.get(campaign_id)

    @auth.roles_required(*MARKETING)
    @blp.arguments(CampaignPatchSchema())
    @transactional
    @blp.response(200, CampaignSchema)
    @problems("campaign_not_found", "campaign_not_draft")
    def patch(self, data, campaign_id):
        """Edit a draft (409 once it was activated: enrolments are on their way through its steps)."""
        return service.update(campaign_id, data)


@blp.route("/campaigns/<int:campaign_id>/activate")
class CampaignActivate(MethodView):
    @auth.roles_required(*MARKETING)
    @transactional
    @blp.response(200, CampaignSchema)
    @problems("campaign_not_found")
    def post(self, campaign_id):
        """Start (or resume) enrolling and sending."""
        return service.activate(campaign_id)


@blp.route("/campaigns/<int:campaign_id>/pause")
class CampaignPause(MethodView):
    @auth.roles_required(*MARKETING)
    @transactional
    @blp.response(200, CampaignSchema)
    @problems("campaign_not_found", "campaign_not_active")
    def post(self, campaign_id):
        """Stop enrolling; enrolments wait at their next step until it is activated again."""
        return service.pause(campaign_id)


@blp.route("/campaigns/<int:campaign_id>/test-send")
class CampaignTestSend(MethodView):
    @auth.roles_required(*MARKETING)
    @blp.arguments(TestSendSchema())
    @transactional
    @blp.response(202, TestSentSchema)
    @problems("campaign_not_found", "campaign_step_unknown", "campaign_no_address")
    def post(self, data, campaign_id):
        """Queue one step, rendered with demo data, to the address given (marked as a test)."""
        return service.test_send(campaign_id, data)


@blp.route("/campaigns/<int:campaign_id>/report")
class CampaignReport(MethodView):
    @auth.roles_required(*MARKETING)
    @blp.arguments(ReportQuerySchema(), location="query")
    @blp.response(200, ReportSchema)
    @problems("campaign_not_found")
    def get(self, args, campaign_id):
        """Per step and channel: enrolled, sent, skipped (why), delivered, clicked, orders, revenue,
        unsubscribes; and recovered revenue per day."""
        return report.report(campaign_id, **args)
