"""Choices people make about messages: a customer's own switches, and staff recording one at a counter.

Both end in the ledger (notifications/consent.py); a yes to offers by email goes through the double
opt-in (notifications/opt_in.py) whoever says it, because neither the customer's session nor a
clerk proves that the address belongs to the customer. A yes to texts needs a phone that has not
texted STOP.
"""

from __future__ import annotations

from notifications import consent, opt_in
from notifications.consent_models import ConsentRecord
from shop.accounts.models import User
from shop.core.errors import DomainError

STATE_OF = {True: consent.GRANTED, False: consent.WITHDRAWN}


def _check_texts(customer: User) -> None:
    if not customer.phone:
        raise DomainError("phone_required", "Add a phone number to the profile to get texts.")
    if consent.stopped_by_text(consent.address_for("sms", customer.phone)):
        raise DomainError("sms_stopped", "This number texted STOP: text START to our number first, then turn "
                                         "texts on.")


def _address(customer: User, channel: str) -> str | None:
    return consent.address_for(channel, customer.email if channel == "email" else customer.phone)


def choose(customer: User, channel: str, purpose: str, wanted: bool, wording: str, source: str, *,
           reference: str = "", store_id: int | None = None, actor_id: int | None = None) -> ConsentRecord | None:
    """One choice; the event recorded, or None when it is already in force. A yes to offers by
    email not yet confirmed asks again (a new pending event, a new link: the mail may be lost)."""
    if wanted and channel == "sms":
        _check_texts(customer)
    address = _address(customer, channel)
    last = consent.latest(channel, purpose, customer_id=customer.id, address=address)
    if last is not None and last.state == STATE_OF[wanted]:
        return None
    if wanted and channel == "email" and purpose == "marketing":
        return opt_in.request_confirmation(source, wording, customer_id=customer.id, email=customer.email,
                                           reference=reference, store_id=store_id, actor_id=actor_id)
    return consent.record(channel, purpose, STATE_OF[wanted], source, wording, customer_id=customer.id,
                          reference=reference, store_id=store_id, actor_id=actor_id,
                          **{"email" if channel == "email" else "phone": address})


def set_marketing(customer: User, choices: dict[str, bool], wording: str, source: str) -> None:
    """The customer turns offers by email or text on or off (PUT /me/preferences)."""
    if choices.get("sms"):
        _check_texts(customer)
    for channel, wanted in choices.items():
        choose(customer, channel, "marketing", wanted, wording, source)


def at_store(customer: User, store: dict, staff_id: int, channel: str, purpose: str, wanted: bool,
             wording: str) -> ConsentRecord:
    """A choice the customer made at a counter, recorded by staff: source `store`, the store and the
    clerk kept with it, the wording the customer was shown. Recorded even when already in force:
    it is evidence of what was said, there and then. A yes to offers by email not confirmed yet
    sends the confirmation link; one already confirmed stays in force."""
    if wanted and channel == "sms":
        _check_texts(customer)
    reference = f"store:{store['code']}"
    last = consent.latest(channel, purpose, customer_id=customer.id, address=_address(customer, channel))
    confirmed = last is not None and last.state == consent.GRANTED
    if wanted and channel == "email" and purpose == "marketing" and not confirmed:
        return opt_in.request_confirmation("store", wording, customer_id=customer.id, email=customer.email,
                                           reference=reference, store_id=store["id"], actor_id=staff_id)
    return consent.record(channel, purpose, STATE_OF[wanted], "store", wording, customer_id=customer.id,
                          reference=reference, store_id=store["id"], actor_id=staff_id,
                          **{"email" if channel == "email" else "phone": _address(customer, channel)})
