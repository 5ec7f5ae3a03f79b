"""What the tablet's calls may send, checked before anything runs (a clear 4xx otherwise).

The pick and handover bodies are the staff API's own schemas: one statement of what a pick or a
pickup code may be. Parsing is shop.core.forms's, the sign-in form shop.accounts.sign_in_pages's.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shop.core.forms import body
from shop.orders.schemas import HandoverSchema, PickSchema

__all__ = ["body", "PICK", "HANDOVER", "UNLOCK"]


class UnlockBody(Schema):
    """A manager's own sign-in, typed on the tablet, and their word that they checked the ID."""

    email = fields.String(required=True, validate=validate.Length(1, 254))
    password = fields.String(required=True, validate=validate.Length(1, 200))
    id_checked = fields.Boolean(required=True, validate=validate.Equal(True, error="Check the shopper's ID first."))


PICK = PickSchema()
HANDOVER = HandoverSchema()
UNLOCK = UnlockBody()
