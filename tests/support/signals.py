"""Capture what a blinker signal carried during a block of a test."""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def captured(signal):
    sent: list[dict] = []

    def receiver(sender, **kwargs):
        sent.append(kwargs)

    signal.connect(receiver, weak=False)
    try:
        yield sent
    finally:
        signal.disconnect(receiver)
