"""Stock endpoints: figures per store, availability near a point, till events and the ledger."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from inventory import catalog, ledger, stock
from inventory.back_in_stock import watch
from inventory.schemas import (
    AvailabilityQuerySchema,
    AvailabilitySchema,
    LedgerPageSchema,
    LedgerQuerySchema,
    SafetyStockSchema,
    StockEventResultSchema,
    StockEventSchema,
    StockFiguresSchema,
    StockQuerySchema,
    split_skus,
)
from inventory.stock_events import record_event
from shop.accounts import auth
from shop.core.clock import clock
from shop.core.http import problems
from shop.core.pagination import PAGE_HEADERS
from shop.core.transactions import transactional
from stores.services import DEFAULT_RADIUS_KM, get_store

blp = Blueprint("stock", __name__, description="Stock per store and SKU, till events, ledger")

PUBLIC_FIELDS = ("sku", "available")


@blp.route("/stores/<int:store_id>/stock")
class StoreStock(MethodView):
    @blp.arguments(StockQuerySchema(), location="query")
    @blp.response(200, StockFiguresSchema(many=True))
    @problems("store_not_found", "unknown_sku", "unauthorized")
    def get(self, args, store_id):
        """Availability of up to 100 SKUs at a store; its staff also see on_hand, reserved, safety."""
        get_store(store_id)
        rows = stock.store_stock(store_id, split_skus(args["skus"]), clock.now())
        if auth.is_staff_of(auth.current_caller(), store_id):
            return rows
        return [{k: row[k] for k in PUBLIC_FIELDS} for row in rows]


@blp.route("/stores/<int:store_id>/stock/<string:sku>")
class StockItem(MethodView):
    @auth.store_staff_required
    @blp.arguments(SafetyStockSchema())
    @transactional
    @blp.response(200, StockFiguresSchema)
    @problems("store_not_found", "product_not_found")
    def patch(self, data, store_id, sku):
        """Set the safety stock: units kept back from online sale (staff of the store)."""
        get_store(store_id)
        product = catalog.get_product(sku)
        row = stock.lock_rows(store_id, [product.id])[product.id]
        with watch([row]):  # less kept back can bring a SKU back for shoppers
            row.safety_stock = data["safety_stock"]
        return stock.store_stock(store_id, [sku], clock.now())[0]


@blp.route("/availability")
class Availability(MethodView):
    @blp.arguments(AvailabilityQuerySchema(), location="query")
    @blp.response(200, AvailabilitySchema(many=True))
    @problems("product_not_found")
    def get(self, args):
        """Where a SKU can be had: per store, nearest first when `near` is given."""
        return stock.availability(catalog.get_product(args["sku"]), clock.now(), args.get("near"),
                                  args.get("radius_km", DEFAULT_RADIUS_KM))


@blp.route("/stores/<int:store_id>/stock-events")
class StockEvents(MethodView):
    @auth.store_staff_required
    @blp.arguments(StockEventSchema())
    @transactional
    @blp.response(201, StockEventResultSchema)
    @blp.alt_response(200, schema=StockEventResultSchema, description="A replayed event_id")
    @problems("store_not_found", "unknown_sku", "event_id_reused")
    def post(self, data, store_id):
        """Record a till or back-room event; a repeated event_id returns the first result."""
        get_store(store_id)
        products = catalog.products_by_sku(line["sku"] for line in data["lines"])
        lines = {products[line["sku"]]: line["quantity"] for line in data["lines"]}
        result, replayed = record_event(
            store_id, data["event_id"], data["type"], lines, auth.current_caller().id
        )
        return result, 200 if replayed else 201


@blp.route("/stores/<int:store_id>/ledger")
class Ledger(MethodView):
    @auth.store_staff_required
    @blp.arguments(LedgerQuerySchema(), location="query")
    @blp.response(200, LedgerPageSchema, headers=PAGE_HEADERS)
    @problems("store_not_found", "product_not_found")
    def get(self, args, store_id):
        """The stock ledger of a store, newest first (staff of the store)."""
        get_store(store_id)
        product_id = catalog.get_product(args["sku"]).id if "sku" in args else None
        page = ledger.entries(store_id, product_id, args["limit"], args.get("cursor"))
        return page.as_dict(), page.headers
