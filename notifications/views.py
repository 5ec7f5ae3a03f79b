"""The messages API: the outbox for staff (masked addresses), resending a failed message, previews."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from notifications import preview, staff
from notifications.schemas import (
    MessageSchema,
    MessagesPageSchema,
    MessagesQuerySchema,
    PreviewQuerySchema,
    PreviewSchema,
)
from shop.accounts import auth
from shop.core.http import problems
from shop.core.pagination import PAGE_HEADERS
from shop.core.transactions import transactional

blp = Blueprint("messages", __name__, description="The outbox: messages to customers, resends, previews")


@blp.route("/messages")
class Messages(MethodView):
    @auth.roles_required(*auth.STAFF_ROLES)
    @blp.arguments(MessagesQuerySchema(), location="query")
    @blp.response(200, MessagesPageSchema, headers=PAGE_HEADERS)
    def get(self, args):
        """Messages newest first, by customer, order or status; addresses are masked. Staff see their
        stores' messages, marketing the marketing messages, an admin every message."""
        page = staff.messages(auth.current_caller(), **args)
        return page.as_dict(), page.headers


@blp.route("/messages/<int:message_id>/resend")
class Resend(MethodView):
    @auth.roles_required("staff", "admin")
    @transactional
    @blp.response(200, MessageSchema)
    @problems("message_not_found", "message_not_failed")
    def post(self, message_id):
        """Queue a failed message again (the next delivery sweep re-checks consent and sends it); staff
        only their stores' messages (another store's is 404)."""
        return staff.resend(auth.current_caller(), message_id)


@blp.route("/messages/preview/<string(maxlength=60):template>")
class Preview(MethodView):
    @auth.roles_required(*auth.STAFF_ROLES)
    @blp.arguments(PreviewQuerySchema(), location="query")
    @blp.response(200, PreviewSchema)
    @problems("template_not_found")
    def get(self, args, template):
        """A template rendered with demo data: subject, text, HTML and the text message, per locale."""
        return preview.preview(template, args["locale"])
