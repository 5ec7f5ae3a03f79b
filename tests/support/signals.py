"""Capture what a blinker signal carried during a block of a test."""

from __future__ import annotations

import contextlib

from blinker import ANY


@contextlib.contextmanager
def captured(signal, sender=ANY):
    """What `signal` carried; with `sender`, only what was sent by it (receivers connect per app)."""
    sent: list[dict] = []

    def receiver(sender, **kwargs):
        sent.append(kwargs)

    signal.connect(receiver, sender=sender, weak=False)
    try:
        yield sent
    finally:
        signal.disconnect(receiver, sender=sender)
