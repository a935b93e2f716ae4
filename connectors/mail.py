"""MailConnector: sends one email over SMTP, keyed on its Message-ID so a retry is safe."""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import tenacity
from pydantic import BaseModel, ConfigDict

from remote.base import DEFAULT_RETRY, AttemptFailed, Attempts, RetryPolicy, retrying
from remote.errors import PermanentError, TransientError

__all__ = ["MailConnector", "SentMail", "message_id_header"]

logger = logging.getLogger(__name__)

MESSAGE_ID_DOMAIN = "keel.local"
_FORBIDDEN_IN_ID = set("<>\r\n\t ")


class SentMail(BaseModel):
    """An email the SMTP server accepted."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    """The caller's key, as given (the header is ``message_id_header(message_id)``)."""
    to: str
    subject: str
    sent_at: datetime


def message_id_header(message_id: str) -> str:
    """The Message-ID header for a key: always the same header for the same key."""
    if not message_id or _FORBIDDEN_IN_ID & set(message_id):
        raise ValueError(f"a Message-ID key needs no spaces or angle brackets: {message_id!r}")
    return f"<{message_id}>" if "@" in message_id else f"<{message_id}@{MESSAGE_ID_DOMAIN}>"


class MailConnector:
    """Sends mail through one SMTP server; retries transient failures with the same Message-ID.

    The Message-ID is the idempotency key: the server (the sandbox's sink, or a relay
    that deduplicates) drops a repeated one, so resending after an unknown outcome is safe.
    """

    name = "mail"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout
        self.retry = retry
        self._sleep = sleep
        self._now = now

    def send(
        self,
        to: str,
        subject: str,
        body: str,
        *,
        message_id: str,
        order_id: int | None = None,
    ) -> SentMail:
        """Send one plain-text email; raises ``TransientError`` or ``PermanentError``."""
        header = message_id_header(message_id)
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(self._now())
        message["Message-ID"] = header
        if order_id is not None:
            message["X-Keel-Order"] = str(order_id)
        message.set_content(body)

        context: dict[str, Any] = {
            "connector": self.name,
            "operation": "send",
            "target": f"{header} to {to}",
            "idempotency_key": message_id,
        }
        loop = retrying(
            self.retry,
            sleep=self._sleep,
            should_retry=lambda exc: isinstance(exc, AttemptFailed),
            on_retry=lambda state: self._log_retry(state, header),
        )
        attempt = Attempts(self._deliver)
        try:
            loop(attempt, message, to, context)
        except AttemptFailed as failure:
            attempts = loop.statistics.get("attempt_number", 1)
            raise TransientError(
                f"{failure.detail} (gave up after {attempts} attempts)",
                status_code=failure.status_code,
                attempts=attempts,
                unprocessed=not attempt.touched,
                **context,
            ) from (failure.__cause__ or failure)
        return SentMail(message_id=message_id, to=to, subject=subject, sent_at=self._now())

    def _deliver(self, message: EmailMessage, to: str, context: dict[str, Any]) -> None:
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except OSError as exc:  # never connected: nothing was handed over
            raise AttemptFailed(f"{type(exc).__name__}: {exc}", unsent=True) from exc
        try:
            try:
                smtp.send_message(message, from_addr=self.sender, to_addrs=[to])
            finally:
                _hang_up(smtp)
        except smtplib.SMTPRecipientsRefused as exc:
            replies = exc.recipients.items()
            detail = "; ".join(f"{rcpt} {code} {_text(text)}" for rcpt, (code, text) in replies)
            codes = [code for code, _ in exc.recipients.values()]
            if all(400 <= code < 500 for code in codes):  # deferred: not accepted
                raise AttemptFailed(f"refused {detail}", status_code=codes[0], unsent=True) from exc
            raise PermanentError(f"refused {detail}", status_code=max(codes), **context) from exc
        except smtplib.SMTPResponseException as exc:
            detail = f"{exc.smtp_code} {_text(exc.smtp_error)}"
            if 400 <= exc.smtp_code < 500:  # deferred: the server did not take the mail
                raise AttemptFailed(detail, status_code=exc.smtp_code, unsent=True) from exc
            raise PermanentError(detail, status_code=exc.smtp_code, **context) from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise AttemptFailed(f"server disconnected: {exc}") from exc
        except smtplib.SMTPException as exc:  # e.g. SMTPNotSupportedError: no retry helps
            raise PermanentError(f"{type(exc).__name__}: {exc}", **context) from exc
        except OSError as exc:
            # Refused, reset or timed out: the server may or may not have the mail, and
            # the Message-ID makes sending it again harmless.
            raise AttemptFailed(f"{type(exc).__name__}: {exc}") from exc

    def _log_retry(self, state: tenacity.RetryCallState, header: str) -> None:
        failure = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "mail: send %s via %s:%d attempt %d/%d failed (%s); retrying in %.2fs",
            header,
            self.host,
            self.port,
            state.attempt_number,
            self.retry.attempts,
            failure,
            delay,
        )


def _hang_up(smtp: smtplib.SMTP) -> None:
    """QUIT after the mail is handed over; a failed goodbye does not unsend it."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply
