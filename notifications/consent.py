# placeholder: CONSENT engineer replaces
"""Consent, with the shared design's signatures (docs/notifications.md); the real ledger replaces this.

Kept in memory for this process only: transactional email is allowed unless withdrawn, order texts
need the checkout's sms_updates and no STOP, marketing needs a grant not later withdrawn.
"""

from __future__ import annotations

_LEDGER: list[tuple[str, str, str, tuple]] = []  # (channel, purpose, state, who)


def _who(customer_id, email, phone) -> tuple:
    return tuple(k for k in (("c", customer_id), ("e", email), ("p", phone)) if k[1] is not None)


def record(channel: str, purpose: str, state: str, source: str, wording: str, *, customer_id: int | None = None,
           email: str | None = None, phone: str | None = None) -> None:
    _LEDGER.append((channel, purpose, state, _who(customer_id, email, phone)))


def _latest(channel: str, purpose: str, who: tuple) -> str | None:
    for c, p, state, keys in reversed(_LEDGER):
        if c == channel and p == purpose and set(keys) & set(who):
            return state
    return None


def allowed(channel: str, purpose: str, *, customer_id: int | None = None, email: str | None = None,
            phone: str | None = None, order_sms_updates: bool | None = None) -> tuple[bool, str | None]:
    who = _who(customer_id, email, phone)
    if purpose == "marketing":
        state = _latest(channel, "marketing", who)
        if state == "granted":
            return True, None
        return False, "unsubscribed" if state == "withdrawn" else "no_marketing_consent"
    if _latest(channel, "transactional", who) == "withdrawn":
        return False, "sms_stopped" if channel == "sms" else "unsubscribed"
    if channel == "sms" and not order_sms_updates:
        return False, "no_sms_updates"
    return True, None
