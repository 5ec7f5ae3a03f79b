"""SMS keyword coupons: the keyword of an advert starts a double opt-in; Y within the window ends it.

1. A number texts a keyword configured in SMS_KEYWORDS (docs/configuration.md): we reply with the
   prompt "Reply Y to get your code and marketing texts" (word for word in `prompt`) and keep it.
2. The number texts Y within SMS_KEYWORD_REPLY_HOURS: its marketing texts are agreed (source
   `sms_keyword`, the prompt as the wording, the Twilio message as the reference), and we reply
   with a new single-use code minted through the port "mint_coupon" (batch "sms:<KEYWORD>").
Y, not YES: YES is a carrier opt-in word (START), kept working as before. A number gets one code per
keyword: the keyword or Y again answers with the same code. A number that texted STOP gets nothing
until it texts START (the carrier would not deliver our reply anyway); its Y agrees to nothing.
The replies go back in the webhook's answer (TwiML), as HELP's do: they answer a text just sent.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from notifications import consent
from notifications.formatting import money
from notifications.sms_keyword_models import SmsKeywordOptin
from shop.core import events, ports
from shop.core.clock import clock
from shop.core.extensions import db

CONFIRM_WORDS = frozenset({"Y"})
_OFFER = re.compile(r"^(?P<kw>[A-Z0-9]{2,20})=(?:PERCENT:(?P<pct>\d{1,3})|FIXED:(?P<amt>\d{1,9}):(?P<cur>[A-Z]{3}))"
                    r":(?P<days>\d{1,3})$")


@dataclass(frozen=True)
class Offer:
    keyword: str
    kind: str
    value: int
    currency: str | None
    valid_days: int


def offers(config) -> dict[str, Offer]:
    """The keywords of SMS_KEYWORDS; a RuntimeError names an entry that does not parse."""
    found = {}
    for entry in filter(None, (part.strip().upper() for part in config.get("SMS_KEYWORDS", "").split(","))):
        match = _OFFER.match(entry)
        if match is None or (match["pct"] and not 1 <= int(match["pct"]) <= 100) or int(match["days"]) < 1:
            raise RuntimeError(f"SMS_KEYWORDS: {entry!r} is not KEYWORD=percent:1-100:DAYS or "
                               "KEYWORD=fixed:MINOR_UNITS:CURRENCY:DAYS")
        kind = "percent" if match["pct"] else "fixed"
        found[match["kw"]] = Offer(match["kw"], kind, int(match["pct"] or match["amt"]), match["cur"],
                                   int(match["days"]))
    return found


def check_config(config, reserved: frozenset[str]) -> None:
    """At start: the setting parses and no keyword is one of the words texts already mean."""
    taken = sorted(set(offers(config)) & (reserved | CONFIRM_WORDS))
    if taken:
        raise RuntimeError(f"SMS_KEYWORDS: {', '.join(taken)} already mean something by text (STOP, START, HELP, Y)")


def prompt(offer: Offer) -> str:
    config = current_app.config
    return (f"{config['BRAND_NAME']}: Reply Y to get your code and marketing texts "
            f"({config['SMS_HELP_FREQUENCY']}) Msg & data rates may apply. Reply STOP to opt out.")


def _code_text(offer: Offer, row: SmsKeywordOptin) -> str:
    worth = f"{offer.value}% off" if offer.kind == "percent" else f"{money(offer.value, offer.currency)} off"
    until = (row.confirmed_at + dt.timedelta(days=offer.valid_days)).date().isoformat()
    return (f"{current_app.config['BRAND_NAME']}: your code {row.coupon_code} gives {worth}, once, until {until}. "
            "Reply STOP to opt out.")


def _row(phone: str, keyword: str) -> SmsKeywordOptin | None:
    return db.session.scalar(select(SmsKeywordOptin).where(SmsKeywordOptin.phone == phone,
                                                           SmsKeywordOptin.keyword == keyword).with_for_update())


def keyword_texted(phone: str, offer: Offer) -> str | None:
    """The reply to a keyword: the prompt (the opt-in starts, or starts again), or the code already given."""
    if consent.stopped_by_text(phone):
        return None
    row = _row(phone, offer.keyword)
    if row is not None and row.status == "confirmed":
        return _code_text(offer, row)
    text = prompt(offer)
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(SmsKeywordOptin(phone=phone, keyword=offer.keyword, prompt=text, asked_at=clock.now()))
                db.session.flush()
        except IntegrityError:  # the same text twice at once (a redelivered webhook): one row
            return text
    else:
        row.prompt, row.asked_at = text, clock.now()
    return text


def confirmed(phone: str, reference: str) -> str | None:
    """The reply to Y: the code, when a keyword's prompt to this number is still open (or was answered)."""
    if consent.stopped_by_text(phone):
        return None
    since = clock.now() - dt.timedelta(hours=current_app.config["SMS_KEYWORD_REPLY_HOURS"])
    row = db.session.scalar(
        select(SmsKeywordOptin).where(SmsKeywordOptin.phone == phone, SmsKeywordOptin.asked_at >= since)
        .order_by(SmsKeywordOptin.asked_at.desc(), SmsKeywordOptin.id.desc()).limit(1).with_for_update())
    offer = offers(current_app.config).get(row.keyword) if row is not None else None
    if row is None or offer is None:
        return None  # nothing asked lately, or the advert's keyword was withdrawn since
    if row.status == "pending":
        consent.record_for_address("sms", "marketing", consent.GRANTED, "sms_keyword", row.prompt, phone, reference)
        row.coupon_code = ports.ask("mint_coupon", offer.kind, offer.value, offer.valid_days, f"sms:{offer.keyword}",
                                    currency=offer.currency)
        row.status, row.confirmed_at = "confirmed", clock.now()
        events.sms_keyword_confirmed.send(  # campaigns of the sms_keyword trigger may text later
            current_app._get_current_object(), optin_id=row.id, phone=phone, keyword=row.keyword,
            coupon_code=row.coupon_code, coupon_ends_at=row.confirmed_at + dt.timedelta(days=offer.valid_days))
    return _code_text(offer, row)
