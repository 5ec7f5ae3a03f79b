"""Timeline endpoints: a customer's interactions on every channel, newest first."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from shop import auth, timeline
from shop.auth_models import User
from shop.errors import DomainError
from shop.extensions import db
from shop.schemas.timeline import TimelinePageSchema, TimelineQuerySchema

blp = Blueprint("timeline", __name__, description="The customer timeline")


@blp.route("/customers/<int:customer_id>/timeline")
class CustomerTimeline(MethodView):
    @auth.roles_required(*auth.STAFF_ROLES)
    @blp.arguments(TimelineQuerySchema(), location="query")
    @blp.response(200, TimelinePageSchema)
    def get(self, args, customer_id):
        """Everything a customer did or was told, newest first, with the last contact on top."""
        customer = db.session.get(User, customer_id)
        if customer is None or customer.role != "customer":
            raise DomainError(404, "customer_not_found", f"No customer {customer_id}.")
        return timeline.entries(customer.id, args["limit"], args.get("cursor"))


@blp.route("/me/timeline")
class MyTimeline(MethodView):
    @auth.roles_required("customer")
    @blp.arguments(TimelineQuerySchema(), location="query")
    @blp.response(200, TimelinePageSchema)
    def get(self, args):
        """My own timeline."""
        return timeline.entries(auth.current_caller().id, args["limit"], args.get("cursor"))
