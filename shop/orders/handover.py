"""The handover across its transactions, for the staff API and the tablet alike (one flow, two screens).

By card the capture is never made under a lock: check the code and mark the capture pending
(committed by `checkpoint`), capture with no lock held, then lock the order again, record the
capture and take the stock out. Paid at the counter, or a retry whose reply was lost (the same
code on an order already handed over): done in the first step. The caller runs this inside its one
transaction boundary (`@transactional` or `with transaction():`); `checkpoint` is the only
commit made here, through shop.core.transactions.
"""

from __future__ import annotations

from collections.abc import Callable

from shop.accounts.actors import Actor
from shop.core.transactions import checkpoint
from shop.orders import pickup
from shop.orders.models import Order


def hand_over(lock: Callable[[], tuple[Order, Actor]], code: str) -> Order:
    """`lock` locks the order (again) and says who acts; the order as handed over is returned."""
    order, actor = lock()
    due = pickup.hand_over(order, code, actor)
    if due is None:
        return order
    checkpoint()  # the pending capture is kept; no lock is held from here
    try:
        intent = pickup.capture(due)
    except pickup.CaptureFailed as failure:
        pickup.capture_failed(lock()[0], failure)  # raises: the failure is kept, the order stays ready
    order, actor = lock()
    pickup.captured(order, intent, actor)
    return order
