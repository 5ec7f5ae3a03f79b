"""The staff pickup page (the counter tablet): views, templates and static files; it drives orders
through shop.orders, so it lives in shop. See docs/tablet.md."""
