"""Mail over SMTP (smtplib): implicit TLS, STARTTLS or plain on loopback; one connection per message.

TLS always verifies the server's certificate and its name (MAIL_SMTP_HOST) against the system's
trust store, or against MAIL_SMTP_CA_FILE alone when set (a private CA).
4xx answers, timeouts and refused connections are transient; a 5xx refusal of the recipient or of
the message is permanent. A failed login, and a certificate that does not verify, are transient:
they are our configuration (or an attack on the path), not the message, which waits for a fix.
"""

from __future__ import annotations

import smtplib
import ssl

from flask import current_app

from notifications.models import Message
from notifications.rendering import Rendered
from notifications.senders import mime
from notifications.senders.base import PermanentSendError, SendResult, TransientSendError

SECURITY = ("ssl", "starttls", "none")


def tls_context(config) -> ssl.SSLContext:
    """Certificate and host name checked (TLS 1.2 at least); the CA file, when set, is the only trust."""
    return ssl.create_default_context(cafile=config.get("MAIL_SMTP_CA_FILE") or None)


def _connect(config) -> smtplib.SMTP:
    host, port, timeout = config["MAIL_SMTP_HOST"], config["MAIL_SMTP_PORT"], config["MAIL_SMTP_TIMEOUT_SECONDS"]
    if config["MAIL_SMTP_SECURITY"] == "ssl":
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls_context(config))
    client = smtplib.SMTP(host, port, timeout=timeout)
    if config["MAIL_SMTP_SECURITY"] == "starttls":
        try:
            client.starttls(context=tls_context(config))
        except BaseException:
            client.close()
            raise
    return client


class SmtpSender:
    def send(self, message: Message, rendered: Rendered) -> SendResult:
        config = current_app.config
        mail = mime.build(message, rendered)
        try:
            with _connect(config) as client:
                if config["MAIL_SMTP_USERNAME"]:
                    client.login(config["MAIL_SMTP_USERNAME"], config["MAIL_SMTP_PASSWORD"])
                refused = client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise _by_code(code, text) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise TransientSendError(f"smtp login refused: {exc.smtp_code}") from exc
        except smtplib.SMTPResponseException as exc:
            raise _by_code(exc.smtp_code, exc.smtp_error) from exc
        except ssl.SSLCertVerificationError as exc:
            raise TransientSendError(f"smtp certificate refused: {exc.verify_message or exc}") from exc
        except (OSError, smtplib.SMTPException) as exc:  # refused, reset, timed out, disconnected, TLS
            raise TransientSendError(f"smtp unavailable: {type(exc).__name__}: {exc}") from exc
        if refused:
            code, text = next(iter(refused.values()))
            raise _by_code(code, text)
        return SendResult(provider_id=mail["Message-ID"])


def _by_code(code: int, text: bytes | str) -> Exception:
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    reason = f"smtp {code}: {text}"
    return PermanentSendError(reason) if 500 <= code < 600 else TransientSendError(reason)
