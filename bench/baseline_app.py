"""The baseline: a bare Flask endpoint doing one primary-key read and one conditional UPDATE."""

from __future__ import annotations

import os

from flask import Flask, jsonify
from sqlalchemy import create_engine, text

engine = create_engine(os.environ["DATABASE_URL"], pool_size=5, pool_pre_ping=False)
app = Flask(__name__)
STORE_ID = int(os.environ["BENCH_STORE_ID"])
PRODUCT_ID = int(os.environ["BENCH_PRODUCT_ID"])


@app.post("/hit")
def hit():
    with engine.begin() as conn:
        row = conn.execute(
            text("SELECT on_hand, reserved FROM stock WHERE store_id = :s AND product_id = :p"),
            {"s": STORE_ID, "p": PRODUCT_ID},
        ).one()
        updated = conn.execute(
            text(
                "UPDATE stock SET reserved = reserved + 1 WHERE store_id = :s AND product_id = :p "
                "AND on_hand - reserved - safety_stock >= 1"
            ),
            {"s": STORE_ID, "p": PRODUCT_ID},
        ).rowcount
    return jsonify(on_hand=row.on_hand, reserved=row.reserved, updated=updated), 201
