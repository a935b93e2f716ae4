"""A loopback fake of the Slack Web API, so tests drive the real slack_sdk and Bolt clients.

It serves the few methods the bot uses at ``<url><method>`` (``url`` ends in ``/api/``,
as slack_sdk's ``base_url`` must), keeps the channel's messages as Slack would after
posts and updates, and records every call. Failures are scripted per method:
`fail_next` answers ``200 {"ok": false, "error": …}``, `rate_limit_next` answers 429
with ``Retry-After``; a token other than the fake's gets ``invalid_auth``.

`response_url` gives a loopback ``response_url`` for payloads, so Bolt's ``respond()``
lands here too (recorded under the method name ``"response_url"``).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from remote.httpserver import DROP, BackgroundHTTPServer, Reply, Served

__all__ = [
    "BOT_ID",
    "BOT_USER_ID",
    "TEAM_ID",
    "PostedMessage",
    "SlackAPI",
    "SlackCall",
]

Json = dict[str, Any]

TEAM_ID = "T0000KEEL"
BOT_USER_ID = "U0000BOT"
BOT_ID = "B0000BOT"

_FIRST_TS_SECONDS = 1_700_000_000


@dataclass(frozen=True)
class SlackCall:
    """One request the fake received, with the reply it gave."""

    method: str
    params: Json
    """Query, form and JSON body fields merged; JSON-valued form fields stay strings."""
    headers: dict[str, str]
    """Header names in lower case."""
    status: int
    response: Json

    @property
    def token(self) -> str | None:
        """The bearer token from ``Authorization``, else a ``token`` parameter."""
        bearer = self.headers.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            return bearer[7:]
        token = self.params.get("token")
        return str(token) if token is not None else None


@dataclass(frozen=True)
class PostedMessage:
    """A message as it stands now in a channel, after any ``chat.update``."""

    channel: str
    ts: str
    text: str
    blocks: list[Json] = field(default_factory=list)
    thread_ts: str | None = None
    """The parent's ts for a thread reply; None for a top-level message."""
    user: str = BOT_USER_ID
    edited: bool = False
    metadata: Json | None = None
    """The message's ``metadata`` (event_type and event_payload), when posted with one."""


@dataclass(frozen=True)
class _Failure:
    status: int
    error: str
    headers: dict[str, str] = field(default_factory=dict)


class SlackAPI(Served):
    """The Slack Web API's bot methods on 127.0.0.1, in a thread.

    Use as a context manager (or `start` / `stop`); build the client with
    ``WebClient(token=fake.token, base_url=fake.url)``.
    """

    def __init__(self, *, token: str | None = "xoxb-test") -> None:
        self.token = token
        """The only token accepted; when None, any non-empty token will do."""
        self.users: dict[str, Json] = {}
        """Profiles `users.info` answers with, by user id; others are made up from the id."""
        self._calls: list[SlackCall] = []
        self._messages: dict[tuple[str, str], PostedMessage] = {}
        self._home_views: dict[str, Json] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._lost = [0, 0]
        self._drop = False
        """Posts to let through, then posts whose reply is lost."""
        self._ts = 0
        self._ids = 0
        self._lock = threading.Lock()
        self._http = BackgroundHTTPServer(self._respond, name="fake-slack-api", poll=0.01)

    # -- answering ---------------------------------------------------------------------

    def _respond(self, _method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        status, body, extra = self._handle(path, headers, raw)
        return (
            status,
            {"content-type": "application/json; charset=utf-8", **extra},
            json.dumps(body).encode(),
        )

    @property
    def url(self) -> str:
        """The ``base_url`` for slack_sdk; it ends in ``/`` or the client drops ``/api``."""
        return f"{self.root}/api/"

    def response_url(self, key: str = "1") -> str:
        """A loopback ``response_url`` to put in interaction payloads."""
        return f"{self.root}/response/{key}"

    # -- scripting ---------------------------------------------------------------------

    def fail_next(self, method: str, error: str = "channel_not_found", *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer ``200 {"ok": false, "error": error}``."""
        self._queue(method, _Failure(200, error), times)

    def rate_limit_next(self, method: str, retry_after: int = 1, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer 429 with ``Retry-After: retry_after``."""
        self._queue(method, _Failure(429, "ratelimited", {"Retry-After": str(retry_after)}), times)

    def lose_reply_next(self, *, after: int = 0, times: int = 1, drop: bool = False) -> None:
        """After ``after`` more posts, the next ``times`` calls of ``chat.postMessage`` post,
        then answer 500 (or, with ``drop``, close the connection unanswered): the reply is
        lost, as when a connection fails after Slack acted."""
        with self._lock:
            self._lost = [after, times]
            self._drop = drop

    def _queue(self, method: str, failure: _Failure, times: int) -> None:
        with self._lock:
            self._failures.setdefault(method, deque()).extend([failure] * times)

    # -- assertions --------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[SlackCall]:
        """The recorded calls, in order; only those of ``method`` when given."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def count(self, method: str) -> int:
        return len(self.calls(method))

    def messages(self, channel: str | None = None) -> list[PostedMessage]:
        """Messages as they stand now, oldest first; only ``channel``'s when given."""
        with self._lock:
            found = [m for m in self._messages.values() if channel is None or m.channel == channel]
        return sorted(found, key=lambda m: float(m.ts))

    def threads(self) -> dict[tuple[str, str], list[PostedMessage]]:
        """Replies, oldest first, by (channel, parent ts)."""
        replies: dict[tuple[str, str], list[PostedMessage]] = {}
        for message in self.messages():
            if message.thread_ts is not None:
                replies.setdefault((message.channel, message.thread_ts), []).append(message)
        return replies

    def home_view(self, user_id: str) -> Json | None:
        """The App Home view last published for ``user_id``."""
        with self._lock:
            return self._home_views.get(user_id)

    @staticmethod
    def dm_channel(user_ids: str) -> str:
        """The channel id `conversations.open` gives for ``users`` (comma-separated ids)."""
        return "D" + "".join(u.strip().removeprefix("U") for u in sorted(user_ids.split(",")))

    # -- serving -----------------------------------------------------------------------

    def _handle(
        self, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Json, dict[str, str]]:
        parts = urlsplit(path)
        params: Json = dict(parse_qsl(parts.query, keep_blank_values=True))
        params.update(_parse_body(raw, headers.get("content-type", "")))
        if parts.path.startswith("/response/"):
            return self._record("response_url", params, headers, 200, {"ok": True}, {})
        method = parts.path.removeprefix("/api/")
        with self._lock:
            queued = self._failures.get(method)
            failure = queued.popleft() if queued else None
        if failure is None:
            failure = self._authenticate(headers, params)
        if failure is not None:
            body = {"ok": False, "error": failure.error}
            return self._record(method, params, headers, failure.status, body, failure.headers)
        answer = getattr(self, "_" + method.replace(".", "_"), None)
        body = answer(params) if answer is not None else {"ok": False, "error": "unknown_method"}
        return self._record(method, params, headers, int(body.pop("status", 200)), body, {})

    def _record(
        self,
        method: str,
        params: Json,
        headers: dict[str, str],
        status: int,
        body: Json,
        extra: dict[str, str],
    ) -> tuple[int, Json, dict[str, str]]:
        with self._lock:
            self._calls.append(SlackCall(method, params, headers, status, body))
        return status, body, extra

    def _authenticate(self, headers: dict[str, str], params: Json) -> _Failure | None:
        bearer = headers.get("authorization", "")
        token = bearer[7:] if bearer.lower().startswith("bearer ") else params.get("token")
        if not token:
            return _Failure(200, "not_authed")
        if self.token is not None and token != self.token:
            return _Failure(200, "invalid_auth")
        return None

    def _next_ts(self) -> str:
        with self._lock:
            self._ts += 100
            micros = self._ts
        return f"{_FIRST_TS_SECONDS + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            self._ids += 1
            return f"{prefix}{self._ids:08d}"

    # -- methods (one per Web API method, named after it) --------------------------------

    def _auth_test(self, params: Json) -> Json:
        return {
            "ok": True,
            "url": "https://keel-test.slack.com/",
            "team": "Keel Test",
            "team_id": TEAM_ID,
            "user": "keel",
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_postMessage(self, params: Json) -> Json:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not (params.get("text") or params.get("blocks") or params.get("attachments")):
            return {"ok": False, "error": "no_text"}
        message = PostedMessage(
            channel=channel,
            ts=self._next_ts(),
            text=params.get("text") or "",
            blocks=_blocks(params.get("blocks")),
            thread_ts=params.get("thread_ts") or None,
            metadata=_object(params.get("metadata")),
        )
        with self._lock:
            self._messages[(channel, message.ts)] = message
            skip, lose = self._lost
            self._lost = [skip - 1, lose] if skip else [0, max(0, lose - 1)]
        if not skip and lose:  # posted, but the answer never makes it back
            return {"ok": False, "error": "fatal_error", "status": DROP if self._drop else 500}
        return {"ok": True, "channel": channel, "ts": message.ts, "message": _as_json(message)}

    def _conversations_history(self, params: Json) -> Json:
        channel, oldest = params.get("channel") or "", float(params.get("oldest") or 0)
        metadata = _truthy(params.get("include_all_metadata"))
        found = [
            m
            for m in self.messages(channel)
            if (m.thread_ts is None or m.thread_ts == m.ts) and float(m.ts) > oldest
        ]
        limit = int(params.get("limit") or 100)
        return {
            "ok": True,
            "messages": [_as_json(m, metadata=metadata) for m in reversed(found)][:limit],
            "has_more": len(found) > limit,
        }

    def _conversations_replies(self, params: Json) -> Json:
        channel, ts = params.get("channel") or "", params.get("ts") or ""
        metadata = _truthy(params.get("include_all_metadata"))
        parent = [m for m in self.messages(channel) if m.ts == ts]
        if not parent:
            return {"ok": False, "error": "thread_not_found"}
        replies = [m for m in self.messages(channel) if m.thread_ts == ts and m.ts != ts]
        limit = int(params.get("limit") or 100)
        return {
            "ok": True,
            "messages": [_as_json(m, metadata=metadata) for m in [*parent, *replies]][:limit],
            "has_more": len(replies) + 1 > limit,
        }

    def _chat_update(self, params: Json) -> Json:
        key = (params.get("channel", ""), params.get("ts", ""))
        with self._lock:
            current = self._messages.get(key)
            if current is None:
                return {"ok": False, "error": "message_not_found"}
            updated = replace(
                current,
                edited=True,
                text=params.get("text", current.text),
                blocks=_blocks(params["blocks"]) if "blocks" in params else current.blocks,
            )
            self._messages[key] = updated
        return {
            "ok": True,
            "channel": updated.channel,
            "ts": updated.ts,
            "text": updated.text,
            "message": _as_json(updated),
        }

    def _chat_postEphemeral(self, params: Json) -> Json:
        if not params.get("channel") or not params.get("user"):
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _conversations_open(self, params: Json) -> Json:
        users = params.get("users") or ""
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": self.dm_channel(users)}}

    def _views_open(self, params: Json) -> Json:
        if not params.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        return {"ok": True, "view": self._view(params.get("view"))}

    def _views_publish(self, params: Json) -> Json:
        user_id = params.get("user_id")
        if not user_id:
            return {"ok": False, "error": "user_not_found"}
        view = self._view(params.get("view"))
        with self._lock:
            self._home_views[user_id] = view
        return {"ok": True, "view": view}

    def _users_info(self, params: Json) -> Json:
        user_id = params.get("user") or ""
        if not user_id:
            return {"ok": False, "error": "user_not_found"}
        user = self.users.get(user_id) or {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": user_id.lower(),
            "real_name": f"User {user_id}",
            "is_bot": False,
            "profile": {
                "real_name": f"User {user_id}",
                "display_name": user_id.lower(),
                "email": f"{user_id.lower()}@example.com",
            },
        }
        return {"ok": True, "user": user}

    def _view(self, view: Any) -> Json:
        if isinstance(view, str):
            view = json.loads(view)
        view = dict(view or {})
        return {
            "id": self._next_id("V"),
            "team_id": TEAM_ID,
            "app_id": "A0000KEEL",
            "bot_id": BOT_ID,
            "hash": self._next_id("h."),
            "state": {"values": {}},
            "private_metadata": "",
            "callback_id": "",
            **view,
        }


def _parse_body(raw: bytes, content_type: str) -> Json:
    if not raw:
        return {}
    text = raw.decode("utf-8")
    if content_type.startswith("application/json") or text.startswith("{"):
        parsed = json.loads(text)
        return parsed if isinstance(parsed, dict) else {}
    return dict(parse_qsl(text, keep_blank_values=True))


def _blocks(blocks: Any) -> list[Json]:
    """Blocks as a list, whether they came as JSON or as a JSON string in a form field."""
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return list(blocks or [])


def _object(value: Any) -> Json | None:
    """A JSON object field, whether it came as JSON or as a JSON string in a form field."""
    if isinstance(value, str):
        value = json.loads(value) if value else None
    return dict(value) if isinstance(value, dict) else None


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


def _as_json(message: PostedMessage, *, metadata: bool = False) -> Json:
    body: Json = {
        "type": "message",
        "user": message.user,
        "bot_id": BOT_ID,
        "text": message.text,
        "ts": message.ts,
        "blocks": message.blocks,
    }
    if metadata and message.metadata is not None:
        body["metadata"] = message.metadata
    if message.thread_ts is not None:
        body["thread_ts"] = message.thread_ts
    if message.edited:
        body["edited"] = {"user": message.user, "ts": message.ts}
    return body
