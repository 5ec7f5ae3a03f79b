"""CSV imports for the catalog and for stock counts: every bad row reported by line, all or nothing."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field

from marshmallow import ValidationError

from inventory.schemas import MAX_QUANTITY, ProductSchema

_WHOLE = re.compile(r"^\d{1,12}$")
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n", ""}


@dataclass
class Parsed:
    rows: list[tuple[int, dict]] = field(default_factory=list)  # (line number, row)
    errors: list[tuple[int, str]] = field(default_factory=list)
    digest: str = ""


def _read(raw: bytes, required: list[str]) -> tuple[Parsed, list[tuple[int, dict]]]:
    parsed = Parsed(digest=hashlib.sha256(raw).hexdigest())
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        parsed.errors.append((1, f"the file is not UTF-8 text ({exc.reason})"))
        return parsed, []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [h for h in required if h not in header]
    if missing:
        parsed.errors.append((1, f"missing column(s): {', '.join(missing)}"))
        return parsed, []
    reader.fieldnames = header
    raw_rows = []
    try:
        for record in reader:
            if None in record or any(v is None for v in record.values()):
                parsed.errors.append((reader.line_num, "wrong number of fields"))
                continue
            raw_rows.append((reader.line_num, {k: v.strip() for k, v in record.items()}))
    except csv.Error as exc:
        parsed.errors.append((reader.line_num, f"malformed CSV: {exc}"))
    if not raw_rows and not parsed.errors:
        parsed.errors.append((1, "the file has no data rows"))
    return parsed, raw_rows


def _messages(exc: ValidationError) -> str:
    return "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.messages.items())


def _seen_once(parsed: Parsed, seen: set, line: int, sku: str) -> bool:
    if sku in seen:
        parsed.errors.append((line, f"SKU {sku} appears more than once"))
        return False
    seen.add(sku)
    return True


def parse_catalog(raw: bytes) -> Parsed:
    """Columns: sku, name, price (minor units), currency; optional gtin, active."""
    parsed, raw_rows = _read(raw, ["sku", "name", "price", "currency"])
    seen: set[str] = set()
    for line, record in raw_rows:
        if not _WHOLE.match(record["price"]):
            parsed.errors.append((line, "price: whole minor units expected, e.g. 1999"))
            continue
        active = record.get("active", "").lower()
        if active not in _TRUE | _FALSE:
            parsed.errors.append((line, "active: use true or false"))
            continue
        data = {
            "sku": record["sku"],
            "name": record["name"],
            "price": int(record["price"]),
            "currency": record["currency"],
            "gtin": record.get("gtin") or None,
            "active": active in _TRUE or active == "",
        }
        try:
            row = ProductSchema().load(data)
        except ValidationError as exc:
            parsed.errors.append((line, _messages(exc)))
            continue
        if _seen_once(parsed, seen, line, row["sku"]):
            parsed.rows.append((line, row))
    return parsed


def parse_counts(raw: bytes) -> Parsed:
    """Columns: sku, quantity (the counted units, 0 or more)."""
    parsed, raw_rows = _read(raw, ["sku", "quantity"])
    seen: set[str] = set()
    for line, record in raw_rows:
        qty = record["quantity"]
        if not _WHOLE.match(qty) or int(qty) > MAX_QUANTITY:
            parsed.errors.append((line, f"quantity: a whole number from 0 to {MAX_QUANTITY}"))
            continue
        if not record["sku"]:
            parsed.errors.append((line, "sku: required"))
            continue
        if _seen_once(parsed, seen, line, record["sku"]):
            parsed.rows.append((line, {"sku": record["sku"], "quantity": int(qty)}))
    return parsed
