"""The coupon desk for marketing and admins: create, list, read and edit coupons (docs/api.md, "Coupons")."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts import auth
from shop.carts import coupon_admin, coupons
from shop.carts.coupon_schemas import CouponPageSchema, CouponPatchSchema, CouponSchema, CouponsQuerySchema
from shop.carts.schemas import CouponCreateSchema
from shop.core.http import problems
from shop.core.pagination import PAGE_HEADERS
from shop.core.transactions import transactional

blp = Blueprint("coupons", __name__, description="Coupons: marketing's desk")


@blp.route("/coupons")
class Coupons(MethodView):
    @auth.roles_required("marketing", "admin")
    @blp.arguments(CouponsQuerySchema(), location="query")
    @blp.response(200, CouponPageSchema, headers=PAGE_HEADERS)
    def get(self, args):
        """Coupons, newest first, with their uses; filter by `active` and `batch`."""
        page = coupon_admin.listing(args.get("active"), args.get("batch"), args["limit"], args.get("cursor"))
        return page.as_dict(), page.headers

    @auth.roles_required("marketing", "admin")
    @blp.arguments(CouponCreateSchema())
    @transactional
    @blp.response(201, CouponCreateSchema)
    @problems("coupon_code_taken")
    def post(self, data):
        """Create a coupon: a percentage or a fixed amount, with limits and a validity window."""
        return coupons.create(data)


@blp.route("/coupons/<string:code>")
class CouponItem(MethodView):
    @auth.roles_required("marketing", "admin")
    @blp.response(200, CouponSchema)
    @problems("coupon_not_found")
    def get(self, code):
        """One coupon by code, active or not, with its uses."""
        return coupon_admin.with_uses([coupon_admin.by_code(code)])[0]

    @auth.roles_required("marketing", "admin")
    @blp.arguments(CouponPatchSchema())
    @transactional
    @blp.response(200, CouponSchema)
    @problems("coupon_not_found", "coupon_redeemed", "coupon_max_uses_below_uses")
    def patch(self, data, code):
        """Edit ends_at, max_uses, active (false deactivates), and min_subtotal until the first use."""
        return coupon_admin.edit(code, data)
