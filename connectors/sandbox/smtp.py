"""The sandbox's SMTP sink: stores each message once per Message-ID and records it in the ledger."""

from __future__ import annotations

import asyncio
import re
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller

from . import db
from .wire import Clock, timestamp

ORDER_HEADER = "X-Keel-Order"
ACCEPTED = "250 Message accepted for delivery"
_ORDER_NUMBER = re.compile(r"#?\s*(\d+)")


class MailSink:
    """An aiosmtpd handler that keeps what it receives in the sandbox's store."""

    def __init__(self, store: db.Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        self.receive(envelope.mail_from or "", list(envelope.rcpt_tos), bytes(raw))
        return ACCEPTED

    def receive(self, sender: str, recipients: list[str], raw: bytes) -> bool:
        """Store one message and its ledger row; a Message-ID seen before is dropped (False)."""
        # policy.default makes the parser build EmailMessage objects (as its stub says).
        message = BytesParser(policy=policy.default).parsebytes(raw)
        message_id = str(message.get("Message-ID") or "").strip().strip("<>")
        if not message_id:
            message_id = f"{uuid.uuid4().hex}@sandbox.keel.invalid"
        to = ", ".join(recipients)
        subject = str(message.get("Subject") or "")
        now = timestamp(self._clock())
        with self._store.transaction() as conn:
            stored = db.add_message(
                conn,
                message_id=message_id,
                sender=sender,
                to=to,
                subject=subject,
                body=_text(message),
                received_at=now,
            )
            if stored:
                db.record_effect(
                    conn,
                    db.EffectKind.EMAIL,
                    at=now,
                    order_id=_order_id(message),
                    idempotency_key=message_id,
                    detail={"to": to, "subject": subject},
                )
        return stored


class MailController(Controller):
    """aiosmtpd's threaded controller, able to listen on an ephemeral port (port 0)."""

    def _trigger_server(self) -> None:
        # The base class connects to self.port to finish start-up; learn the real port first.
        if self.port == 0 and isinstance(self.server, asyncio.Server):
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]  # aiosmtpd leaves it bare

    @property
    def bound_host(self) -> str:
        assert isinstance(self.server, asyncio.Server), "the SMTP sink is not running"
        return str(self.server.sockets[0].getsockname()[0])


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = str(part.get_content())
    except (LookupError, ValueError):  # an unknown charset or a broken transfer encoding
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return text.replace("\r\n", "\n")  # SMTP's line endings, not the sender's


def _order_id(message: EmailMessage) -> int | None:
    found = _ORDER_NUMBER.fullmatch(str(message.get(ORDER_HEADER) or "").strip())
    return int(found.group(1)) if found else None
