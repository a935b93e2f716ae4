"""Signed Slack requests for a Bolt app in HTTP mode: events, button clicks, modals, commands.

Each builder returns a `SignedRequest` — the raw body and headers exactly as Slack sends
them — to feed ``app.dispatch(request.bolt())`` or to POST over real HTTP. Payload shapes
follow Slack's documentation (see ../shared/CONVENTIONS.md §1); ids default to the fake
workspace of `tests.fakes.slack_api`, with a user other than the bot (Bolt ignores the
bot's own events).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any, NamedTuple
from urllib.parse import urlencode

from slack_bolt.request import BoltRequest

from .slack_api import BOT_ID, BOT_USER_ID, TEAM_ID

__all__ = [
    "API_APP_ID",
    "SIGNING_SECRET",
    "SignedRequest",
    "app_home_opened",
    "app_mention",
    "block_actions",
    "message_im",
    "plain_text_values",
    "sign",
    "slash_command",
    "view_submission",
]

Json = dict[str, Any]

SIGNING_SECRET = "s3cret"
API_APP_ID = "A0000KEEL"
USER_ID = "U0000ALICE"
CHANNEL_ID = "C0000OPS"
MESSAGE_TS = "1700000000.000100"


class SignedRequest(NamedTuple):
    body: bytes
    headers: dict[str, str]

    def bolt(self) -> BoltRequest:
        """The request as Bolt's HTTP adapters hand it to ``App.dispatch``."""
        return BoltRequest(body=self.body.decode(), headers=self.headers)


def sign(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """Slack's v0 signature headers: HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = f"v0:{timestamp}:".encode() + body  # the raw bytes, whatever they are
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}


def _signed(
    body: bytes,
    content_type: str,
    *,
    secret: str,
    timestamp: int | None,
    retry_num: int | None,
    retry_reason: str,
) -> SignedRequest:
    headers = {
        "Content-Type": content_type,
        **sign(secret, body, int(time.time()) if timestamp is None else timestamp),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return SignedRequest(body, headers)


def _event_callback(event: Json, event_id: str | None, **signing: Any) -> SignedRequest:
    envelope = {
        "token": "verification-token",
        "team_id": TEAM_ID,
        "api_app_id": API_APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(float(event["event_ts"])),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
    return _signed(json.dumps(envelope).encode(), "application/json", **signing)


def _interaction(payload: Json, **signing: Any) -> SignedRequest:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return _signed(body, "application/x-www-form-urlencoded", **signing)


def app_mention(
    text: str = f"<@{BOT_USER_ID}> status",
    *,
    user: str = USER_ID,
    channel: str = CHANNEL_ID,
    ts: str = MESSAGE_TS,
    event_id: str | None = None,
    thread_ts: str | None = None,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> SignedRequest:
    """An ``app_mention`` event; ``event_id`` defaults to a fresh ``Ev…``."""
    event: Json = {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": TEAM_ID,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return _event_callback(
        event,
        event_id,
        secret=secret,
        timestamp=timestamp,
        retry_num=retry_num,
        retry_reason=retry_reason,
    )


def message_im(
    text: str = "hello",
    *,
    user: str = USER_ID,
    channel: str = "D0000ALICE",
    ts: str = MESSAGE_TS,
    event_id: str | None = None,
    thread_ts: str | None = None,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> SignedRequest:
    """A ``message`` event in the bot's DM (``channel_type: "im"``)."""
    event: Json = {
        "type": "message",
        "channel_type": "im",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": TEAM_ID,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return _event_callback(
        event,
        event_id,
        secret=secret,
        timestamp=timestamp,
        retry_num=retry_num,
        retry_reason=retry_reason,
    )


def app_home_opened(
    *,
    user: str = USER_ID,
    channel: str = "D0000ALICE",
    event_id: str | None = None,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> SignedRequest:
    """The user opened the app's Home tab."""
    event: Json = {
        "type": "app_home_opened",
        "user": user,
        "channel": channel,
        "tab": "home",
        "event_ts": f"{int(time.time())}.000100",
    }
    return _event_callback(
        event, event_id, secret=secret, timestamp=timestamp, retry_num=None, retry_reason=""
    )


def block_actions(
    action_id: str,
    value: str = "",
    *,
    user: str = USER_ID,
    channel: str = CHANNEL_ID,
    message_ts: str = MESSAGE_TS,
    trigger_id: str = "1111.2222.trigger",
    response_url: str = "",
    block_id: str = "actions",
    message: Json | None = None,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> SignedRequest:
    """A button click on the message at (``channel``, ``message_ts``)."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        "api_app_id": API_APP_ID,
        "token": "verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id,
        "team": {"id": TEAM_ID, "domain": "keel-test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": channel.lower()},
        "message": message
        or {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": message_ts,
            "text": "",
            "blocks": [],
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "text": {"type": "plain_text", "text": action_id},
                "action_ts": f"{int(time.time())}.000000",
            }
        ],
    }
    return _interaction(
        payload, secret=secret, timestamp=timestamp, retry_num=retry_num, retry_reason=retry_reason
    )


def plain_text_values(fields: dict[str, dict[str, str]]) -> Json:
    """``view.state.values`` for plain-text inputs: ``{block_id: {action_id: text}}``."""
    return {
        block_id: {
            action_id: {"type": "plain_text_input", "value": text}
            for action_id, text in actions.items()
        }
        for block_id, actions in fields.items()
    }


def view_submission(
    callback_id: str,
    private_metadata: str = "",
    values: Json | None = None,
    *,
    user: str = USER_ID,
    trigger_id: str = "3333.4444.trigger",
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> SignedRequest:
    """A modal's submit; ``values`` is ``view.state.values`` (see `plain_text_values`)."""
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "keel-test"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        "api_app_id": API_APP_ID,
        "token": "verification-token",
        "trigger_id": trigger_id,
        "view": {
            "id": "V0000MODAL",
            "team_id": TEAM_ID,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": values or {}},
            "hash": "1700000000.hash",
            "title": {"type": "plain_text", "text": "Keel"},
            "blocks": [],
            "app_id": API_APP_ID,
            "bot_id": BOT_ID,
            "external_id": "",
            "root_view_id": "V0000MODAL",
            "previous_view_id": None,
        },
        "response_urls": [],
        "enterprise": None,
        "is_enterprise_install": False,
    }
    return _interaction(
        payload, secret=secret, timestamp=timestamp, retry_num=retry_num, retry_reason=retry_reason
    )


def slash_command(
    command: str,
    text: str = "",
    *,
    user: str = USER_ID,
    channel: str = CHANNEL_ID,
    trigger_id: str = "5555.6666.trigger",
    response_url: str = "",
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> SignedRequest:
    """A slash command, sent as form fields (not as a ``payload`` JSON field)."""
    fields = {
        "token": "verification-token",
        "team_id": TEAM_ID,
        "team_domain": "keel-test",
        "channel_id": channel,
        "channel_name": channel.lower(),
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return _signed(
        urlencode(fields).encode(),
        "application/x-www-form-urlencoded",
        secret=secret,
        timestamp=timestamp,
        retry_num=retry_num,
        retry_reason=retry_reason,
    )
