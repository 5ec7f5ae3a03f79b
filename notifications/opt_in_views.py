"""The confirmation link of the double opt-in: GET shows a page with a button, POST confirms.

Pages and problems as the unsubscribe links give them (notifications/unsubscribe.py): a browser
gets HTML, a client asking for JSON gets JSON and problem+json.
"""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from notifications import opt_in
from notifications.consent_models import ConsentRecord
from notifications.unsubscribe import HTML_DOC, Link, page, wants_json
from shop.core.errors import DomainError
from shop.core.http import problems
from shop.core.transactions import transactional

blp = Blueprint("consent_confirmation", __name__, description="Double opt-in links for offers by email (HTML pages)")
HTML_DOC_409 = {"responses": {**HTML_DOC["responses"], 409: HTML_DOC["responses"][404]}}


class ConfirmationSchema(Schema):
    address = fields.String(required=True, metadata={"description": "Masked"})
    confirmed = fields.Boolean(required=True)


def _answer(pending: ConsentRecord, title: str, message: str, *, form: bool = False) -> Response | dict:
    masked = Link("email", pending.address, "marketing").masked
    if wants_json():
        return {"address": masked, "confirmed": opt_in.confirmation_of(pending) is not None}
    return page(200, title, message.format(address=masked), form="Confirm" if form else None)


def _refused(exc: DomainError) -> Response:
    if wants_json():
        raise exc
    return page(exc.status, "This link does not work", exc.detail, code=exc.code)


@blp.route("/consent/confirm/<string:token>")
class Confirm(MethodView):
    @blp.response(200, ConfirmationSchema, description="The page with its button; nothing changes")
    @blp.doc(**HTML_DOC)
    @problems("confirmation_link_invalid", "confirmation_link_expired")
    def get(self, token):
        """What the link confirms, and a button; a GET never confirms (mail scanners open links)."""
        try:
            pending = opt_in.read(token)
        except DomainError as exc:
            return _refused(exc)
        if opt_in.confirmation_of(pending) is not None:
            return _answer(pending, "Confirmed", "{address} gets our offers by email.")
        return _answer(pending, "Get our offers by email?", "Confirm that {address} may get our offers by email.",
                       form=True)

    @transactional
    @blp.response(200, ConfirmationSchema, description="Confirmed (or already)")
    @blp.doc(**HTML_DOC_409)
    @problems(*opt_in.LINK_CODES)
    def post(self, token):
        """Confirm the yes to offers by email this link was sent for."""
        try:
            pending = opt_in.read(token)
            opt_in.confirm(pending)
        except DomainError as exc:
            return _refused(exc)
        return _answer(pending, "Confirmed", "{address} will get our offers by email. Every one has a link "
                                             "to stop them.")
