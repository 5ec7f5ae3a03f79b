"""Money and times as a recipient reads them, in English or French, in the right time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "$", "CHF": "CHF"}
ZERO_DECIMAL = {"JPY", "KRW", "CLP", "VND"}
WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
}
MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre"),
}


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    """The IANA zone by name; an unknown or missing name falls back (never an error at send time)."""
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def money(amount: int | None, currency: str | None, locale: str = "en") -> str:
    """Minor units as "$12.50" (en) or "12,50 $" (fr)."""
    if amount is None:
        return ""
    currency = (currency or "").upper()
    digits = 0 if currency in ZERO_DECIMAL else 2
    value = f"{abs(amount) / 10**digits:,.{digits}f}"
    sign = "-" if amount < 0 else ""
    symbol = SYMBOLS.get(currency, currency)
    if locale == "fr":
        value = value.replace(",", "\u202f").replace(".", ",")
        return f"{sign}{value} {symbol}"
    return f"{sign}{symbol}{value}" if len(symbol) == 1 else f"{sign}{symbol} {value}"


def local_time(value: str | dt.datetime | None, zone_name: str | None, locale: str = "en") -> str:
    """An ISO time (UTC) as the recipient's wall clock: "Tuesday 24 November, 14:30" / "mardi 24 novembre, 14 h 30"."""
    if not value:
        return ""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone(zone(zone_name))
    names = locale if locale in WEEKDAYS else "en"
    day = f"{WEEKDAYS[names][local.weekday()]} {local.day} {MONTHS[names][local.month - 1]}"
    clock_time = f"{local.hour} h {local.minute:02d}" if names == "fr" else f"{local:%H:%M}"
    return f"{day}, {clock_time}"
