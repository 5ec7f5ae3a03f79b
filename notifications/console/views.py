"""The marketing console at /marketing: thin server-rendered views over the campaigns' own service
and report (the API's functions), for marketing and admin.

Sign-in, session, idle sign-out and CSRF are the tablet's (shop.accounts.sessions and
sign_in_pages); each view is one transaction (`with transaction()`); an action is a POST form
that redirects back (so a reload never repeats it) with a one-line notice.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from notifications.campaigns import report, service
from notifications.console import charts, queries
from notifications.formatting import money
from shop.accounts import sessions, sign_in_pages
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.transactions import transaction

bp = Blueprint("console", __name__, template_folder="templates", static_folder="static",
               static_url_path="/marketing/static")
CONSOLE = sessions.Area(("marketing", "admin"), refusal="These pages are for the marketing team.",
                        prompt="Sign in to use the marketing console.")
CAMPAIGN = "/marketing/campaigns/<int:campaign_id>"

sign_in_pages.add_to(bp, "/marketing", sign_in_pages.SignInPage(CONSOLE, "marketing/sign_in.html", "console.home"))
bp.context_processor(lambda: {"money": money})


@bp.errorhandler(DomainError)
def _refused(exc: DomainError):
    """No session: the sign-in page; anything else: a page saying what went wrong, with its status."""
    if exc.code == "unauthorized":
        return sign_in_pages.to_sign_in()
    return render_template("marketing/error.html", problem=exc), exc.status


@bp.get("/marketing")
def home():
    """Every campaign with its status, headline figures, and the button that starts or pauses it."""
    cursor = request.args.get("cursor")
    with transaction():
        user = sessions.require(CONSOLE)
        rows, page = queries.campaigns(cursor)
    return render_template("marketing/campaigns.html", user=user, rows=rows, next_cursor=page.next_cursor)


@bp.get(CAMPAIGN)
def campaign_page(campaign_id: int):
    """One campaign's report: a funnel per step and the recovered revenue per day, each with its table."""
    with transaction():
        user = sessions.require(CONSOLE)
        campaign = service.get(campaign_id)
        figures = report.report(campaign_id)
    funnels = [charts.funnel(step) for step in figures["steps"]]
    line = charts.revenue_line(figures["daily_revenue"], clock.now().date())
    return render_template("marketing/campaign.html", user=user, campaign=campaign, report=figures,
                           funnels=funnels, line=line, stages=charts.STAGES)


def _act(campaign_id: int, act, notice: str):
    with transaction():
        sessions.require(CONSOLE)
        campaign = act(campaign_id)
        name = campaign.name
    flash(notice.format(name=name))
    target = sign_in_pages.safe_next(request.form.get("next"))
    return redirect(target or url_for("console.campaign_page", campaign_id=campaign_id), code=303)


@bp.post(CAMPAIGN + "/activate")
def activate(campaign_id: int):
    return _act(campaign_id, service.activate, "{name} is active.")


@bp.post(CAMPAIGN + "/pause")
def pause(campaign_id: int):
    return _act(campaign_id, service.pause, "{name} is paused: no new enrolments, due steps wait.")
