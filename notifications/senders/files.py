"""Messages written to a folder instead of sent (the `make run` default): email as .eml, texts as .txt.

The .eml is byte for byte what SMTP would send; the file is named after the message (when it was
queued, its id, its template), so a retry overwrites instead of doubling.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from notifications.models import Message
from notifications.rendering import Rendered
from notifications.senders import mime
from notifications.senders.base import SendResult, TransientSendError


def _name(message: Message, suffix: str) -> str:
    return f"{message.created_at:%Y%m%d-%H%M%S}-{message.id}-{message.template}.{suffix}"


def _write(name: str, data: bytes) -> Path:
    folder = Path(current_app.config["DEV_OUTBOX_DIR"])
    path = folder / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        raise TransientSendError(f"cannot write {path}: {exc}") from exc
    return path


class FileMailSender:
    def send(self, message: Message, rendered: Rendered) -> SendResult:
        mail = mime.build(message, rendered)
        _write(_name(message, "eml"), bytes(mail))
        return SendResult(provider_id=mail["Message-ID"])


class FileSmsSender:
    def send(self, message: Message, rendered: Rendered) -> SendResult:
        _write(_name(message, "txt"), f"To: {message.to_address}\n\n{rendered.sms}\n".encode())
        return SendResult(provider_id=f"file-{message.id}")
