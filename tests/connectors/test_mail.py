"""MailConnector against the sandbox's SMTP sink, and against scripted SMTP replies."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from connectors import MailConnector, PermanentError, RetryPolicy, SentMail, TransientError
from connectors.mail import message_id_header

FAST_RETRY = RetryPolicy(attempts=3, initial_backoff=0.1, max_backoff=1, jitter=0)
SENT_AT = datetime(2026, 10, 21, 7, 28, tzinfo=UTC)


def new_id() -> str:
    return f"test-{uuid.uuid4()}"


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def sleeps() -> list[float]:
    return []


def mailer(host: str, port: int, sleeps: list[float]) -> MailConnector:
    return MailConnector(
        host,
        port,
        "shop@harbour.test",
        timeout=5.0,
        retry=FAST_RETRY,
        sleep=sleeps.append,
        now=lambda: SENT_AT,
    )


@pytest.fixture
def mail(sandbox, sleeps: list[float]) -> MailConnector:
    return mailer(sandbox.smtp_host, sandbox.smtp_port, sleeps)


def test_send_lands_in_the_sink(mail: MailConnector, sandbox) -> None:
    key = new_id()

    sent = mail.send(
        "maya.okafor@example.com",
        "Your refund",
        "We refunded 12.00.\n",
        message_id=key,
        order_id=1042,
    )

    assert sent == SentMail(
        message_id=key, to="maya.okafor@example.com", subject="Your refund", sent_at=SENT_AT
    )
    [stored] = sandbox.messages(message_id=f"{key}@keel.local")
    assert (stored["to"], stored["subject"]) == ("maya.okafor@example.com", "Your refund")
    assert stored["body"].strip() == "We refunded 12.00."
    [effect] = [
        e for e in sandbox.ledger(kind="email") if e["idempotency_key"] == f"{key}@keel.local"
    ]
    assert effect["order_id"] == 1042


def test_resending_with_the_same_message_id_stores_one(mail: MailConnector, sandbox) -> None:
    key = new_id()

    mail.send("liam.chen@example.com", "Hello", "first", message_id=key)
    mail.send("liam.chen@example.com", "Hello", "first", message_id=key)

    assert len(sandbox.messages(message_id=f"{key}@keel.local")) == 1
    assert (
        len(
            [e for e in sandbox.ledger(kind="email") if e["idempotency_key"] == f"{key}@keel.local"]
        )
        == 1
    )


def test_a_refused_connection_is_a_transient_error_after_retries(sleeps: list[float]) -> None:
    mail = mailer("127.0.0.1", free_port(), sleeps)
    key = new_id()

    with pytest.raises(TransientError) as raised:
        mail.send("a@example.com", "s", "b", message_id=key)

    assert sleeps == [0.1, 0.2]
    assert raised.value.attempts == 3
    assert raised.value.connector == "mail"
    assert raised.value.idempotency_key == key
    assert isinstance(raised.value.__cause__, ConnectionRefusedError)
    assert str(raised.value).startswith(f"mail: send on <{key}@keel.local> to a@example.com failed")


class ScriptedServer:
    """An aiosmtpd handler answering DATA (or RCPT) from a script; keeps what it was sent."""

    def __init__(self, *data_replies: str, rcpt_reply: str = "250 OK") -> None:
        self.data_replies = list(data_replies)
        self.rcpt_reply = rcpt_reply
        self.received: list[bytes] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(bytes(envelope.original_content or envelope.content))
        return self.data_replies.pop(0) if len(self.data_replies) > 1 else self.data_replies[0]


@pytest.fixture
def scripted() -> Iterator[tuple[ScriptedServer, int]]:
    handler = ScriptedServer("250 OK")
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_a_4xx_reply_is_retried_with_the_same_message_id(
    scripted: tuple[ScriptedServer, int], sleeps: list[float]
) -> None:
    server, port = scripted
    server.data_replies = ["451 4.3.0 try again later", "250 OK"]

    mailer("127.0.0.1", port, sleeps).send("a@example.com", "s", "b", message_id="k1", order_id=7)

    assert sleeps == [0.1]
    headers = [message_from_bytes(raw) for raw in server.received]
    assert [h["Message-ID"] for h in headers] == ["<k1@keel.local>", "<k1@keel.local>"]
    assert [h["X-Keel-Order"] for h in headers] == ["7", "7"]


def test_a_5xx_reply_is_a_permanent_error_without_retry(
    scripted: tuple[ScriptedServer, int], sleeps: list[float]
) -> None:
    server, port = scripted
    server.data_replies = ["554 5.7.1 message rejected"]

    with pytest.raises(PermanentError) as raised:
        mailer("127.0.0.1", port, sleeps).send("a@example.com", "s", "b", message_id="k2")

    assert raised.value.status_code == 554
    assert "554 5.7.1 message rejected" in str(raised.value)
    assert len(server.received) == 1
    assert sleeps == []


def test_a_refused_recipient_is_a_permanent_error(
    scripted: tuple[ScriptedServer, int], sleeps: list[float]
) -> None:
    server, port = scripted
    server.rcpt_reply = "550 5.1.1 no such user"

    with pytest.raises(PermanentError) as raised:
        mailer("127.0.0.1", port, sleeps).send("nobody@example.com", "s", "b", message_id="k3")

    assert raised.value.status_code == 550
    assert server.received == []
    assert sleeps == []


@pytest.mark.parametrize(
    ("key", "header"),
    [
        ("run-1:send:0", "<run-1:send:0@keel.local>"),
        ("abc@shop.example", "<abc@shop.example>"),
    ],
)
def test_the_message_id_header_is_derived_from_the_key(key: str, header: str) -> None:
    assert message_id_header(key) == header
    assert message_id_header(key) == message_id_header(key)


@pytest.mark.parametrize("key", ["", "two words", "<bracketed>", "line\r\nBcc: x@example.com"])
def test_a_key_that_cannot_be_a_message_id_is_refused(key: str) -> None:
    with pytest.raises(ValueError):
        message_id_header(key)
