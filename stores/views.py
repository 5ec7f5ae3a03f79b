"""Store endpoints: find stores near a point, read one, and (admin) create and change them."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from shop.accounts import auth
from shop.core.clock import clock
from shop.core.http import problems
from shop.core.pagination import PAGE_HEADERS
from shop.core.transactions import transactional
from stores import services
from stores.schemas import StorePatchSchema, StoreQuerySchema, StoreSchema

blp = Blueprint("stores", __name__, description="Stores, opening hours and pickup settings")


@blp.route("/stores")
class Stores(MethodView):
    @blp.arguments(StoreQuerySchema(), location="query")
    @blp.response(200, StoreSchema(many=True), headers=PAGE_HEADERS)
    def get(self, args):
        """Stores by distance from `near` (else by code), with whether each is open now in its own time.

        The next page is in the `Link` header.
        """
        page = services.list_stores(clock.now(), args.get("near"), args.get("radius_km"), args.get("open_now"),
                                    args["limit"], args.get("cursor"))
        return page.items, page.headers

    @auth.roles_required("admin")
    @blp.arguments(StoreSchema())
    @transactional
    @blp.response(201, StoreSchema)
    @problems("store_code_taken")
    def post(self, data):
        """Open a store (admin)."""
        store = services.create_store(data)
        return services.view(store, clock.now())


@blp.route("/stores/<int:store_id>")
class StoreItem(MethodView):
    @blp.response(200, StoreSchema)
    @problems("store_not_found")
    def get(self, store_id):
        """One store with its opening hours and exceptions."""
        return services.view(services.get_store(store_id), clock.now())

    @auth.roles_required("admin")
    @blp.arguments(StorePatchSchema(partial=True))
    @transactional
    @blp.response(200, StoreSchema)
    @problems("store_not_found", "store_code_taken")
    def patch(self, data, store_id):
        """Change a store (admin); `hours` or `exceptions`, when given, replace the old ones."""
        store = services.update_store(services.get_store(store_id), data)
        return services.view(store, clock.now())
