"""Coupon endpoints for marketing: create a code, read it back."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from shop import auth, coupons
from shop.extensions import db
from shop.schemas.carts import CouponCreateSchema

blp = Blueprint("coupons", __name__, description="Coupons (marketing)")


@blp.route("/coupons")
class Coupons(MethodView):
    @auth.roles_required("marketing", "admin")
    @blp.arguments(CouponCreateSchema())
    @blp.response(201, CouponCreateSchema)
    def post(self, data):
        """Create a coupon: a percentage or a fixed amount, with limits and a validity window."""
        coupon = coupons.create(data)
        db.session.commit()
        return coupon


@blp.route("/coupons/<string:code>")
class CouponItem(MethodView):
    @auth.roles_required("marketing", "admin")
    @blp.response(200, CouponCreateSchema)
    def get(self, code):
        """One coupon by code."""
        return coupons.find(code)
