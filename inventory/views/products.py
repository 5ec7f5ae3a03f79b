"""Catalog endpoints: search and read products (anyone); create and change them (admin)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from inventory import catalog
from inventory.schemas import ProductPageSchema, ProductPatchSchema, ProductQuerySchema, ProductSchema
from shop.accounts import auth
from shop.core.http import problems
from shop.core.pagination import PAGE_HEADERS
from shop.core.transactions import transactional

blp = Blueprint("products", __name__, description="The catalog: SKUs, names, prices")


@blp.route("/products")
class Products(MethodView):
    @blp.arguments(ProductQuerySchema(), location="query")
    @blp.response(200, ProductPageSchema, headers=PAGE_HEADERS)
    def get(self, args):
        """Search by SKU prefix, name or GTIN; ordered by SKU, paginated by `cursor`."""
        page = catalog.search(args.get("q"), args["limit"], args.get("cursor"))
        return page.as_dict(), page.headers

    @auth.roles_required("admin")
    @blp.arguments(ProductSchema())
    @transactional
    @blp.response(201, ProductSchema)
    @problems("sku_taken", "gtin_taken")
    def post(self, data):
        """Add a product (admin)."""
        return catalog.create_product(data)


@blp.route("/products/<string:sku>")
class ProductItem(MethodView):
    @blp.response(200, ProductSchema)
    @problems("product_not_found")
    def get(self, sku):
        """One product by SKU."""
        return catalog.get_product(sku)

    @auth.roles_required("admin")
    @blp.arguments(ProductPatchSchema(partial=True))
    @transactional
    @blp.response(200, ProductSchema)
    @problems("product_not_found", "gtin_taken")
    def patch(self, data, sku):
        """Change name, price, currency, GTIN or the active flag (admin)."""
        return catalog.update_product(catalog.get_product(sku), data)
