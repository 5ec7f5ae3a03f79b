"""The one interface every sender keeps: send(message, rendered) -> SendResult, or raise why not.

TransientSendError: try again later (the provider is down, slow or busy). PermanentSendError: this
message can never go (an invalid number, a refused address); it fails at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from notifications.models import Message
from notifications.rendering import Rendered


@dataclass(frozen=True)
class SendResult:
    provider_id: str


class SendError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:300]


class TransientSendError(SendError):
    """Worth another attempt later."""


class PermanentSendError(SendError):
    """Never worth another attempt."""


class Sender(Protocol):
    def send(self, message: Message, rendered: Rendered) -> SendResult: ...
