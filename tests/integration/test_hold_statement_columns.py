"""The one-statement hold writes every column of the rows it makes, so a column added to a hold, its
lines or the ledger cannot be filled by the full path (a Python default, say) and left NULL by it."""

from __future__ import annotations

import re

from inventory import hold_statement
from inventory.models import LedgerEntry, Reservation, ReservationLine

# Columns the database fills itself; anything else the statement must write.
SERVER_FILLED = {"reservations": {"id"}, "reservation_lines": {"id"}, "stock_ledger": {"id"}}

_INSERT = re.compile(r"INSERT INTO (\w+)\s*\(([^)]*)\)")


def test_the_hold_statement_writes_every_column_of_its_rows():
    written = {table: {c.strip() for c in columns.split(",")}
               for table, columns in _INSERT.findall(hold_statement._HOLD)}
    expected = {model.__table__.name: {c.name for c in model.__table__.columns} - SERVER_FILLED[model.__table__.name]
                for model in (Reservation, ReservationLine, LedgerEntry)}
    assert written == expected
