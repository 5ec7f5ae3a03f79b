"""Store holds: staff reserve units for a customer at the counter or on the phone, and release them.

Checkout reserves through the same service (inventory.reservations), not through this endpoint.
"""

from __future__ import annotations

import datetime as dt
import uuid

from flask.views import MethodView
from flask_smorest import Blueprint

from inventory import reservations
from inventory.schemas import ReservationCreateSchema, ReservationSchema
from shop.accounts import auth
from shop.core.errors import DomainError
from shop.core.http import problems
from shop.core.transactions import transactional

blp = Blueprint("reservations", __name__, description="Holding units at a store")


@blp.route("/stores/<int:store_id>/reservations")
class StoreReservations(MethodView):
    @auth.store_staff_required
    @blp.arguments(ReservationCreateSchema())
    @transactional
    @blp.response(201, ReservationSchema)
    @problems("unknown_sku", "insufficient_stock", "store_not_found")
    def post(self, data, store_id):
        """Hold units at the store, all lines or none (409 `insufficient_stock` lists the short SKUs)."""
        return reservations.reserve_skus(
            store_id,
            {line["sku"]: line["quantity"] for line in data["lines"]},
            data.get("reference") or f"hold:{uuid.uuid4().hex}",
            dt.timedelta(minutes=data["ttl_minutes"]),
            actor_id=auth.current_caller().id,
        )


def _staff_reservation(reservation_id: int):
    reservation = reservations.get_reservation(reservation_id)
    if not auth.is_staff_of(auth.require_role("staff", "admin"), reservation.store_id):
        # Staff of another store must not learn that the reservation exists.
        raise DomainError("reservation_not_found", f"No reservation {reservation_id}.")
    return reservation


@blp.route("/reservations/<int:reservation_id>")
class ReservationItem(MethodView):
    @auth.login_required
    @blp.response(200, ReservationSchema)
    @problems("reservation_not_found", "forbidden")
    def get(self, reservation_id):
        """One reservation (staff of its store)."""
        return _staff_reservation(reservation_id)


@blp.route("/reservations/<int:reservation_id>/release")
class ReservationRelease(MethodView):
    @auth.login_required
    @transactional
    @blp.response(200, ReservationSchema)
    @problems("reservation_not_found", "forbidden", "reservation_not_active")
    def post(self, reservation_id):
        """Give the held units back (staff of its store); releasing twice changes nothing."""
        return reservations.release(_staff_reservation(reservation_id), auth.current_caller().id)
