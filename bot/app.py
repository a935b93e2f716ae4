"""The Slack bot on Bolt: mentions and DMs to the assistant, buttons, the reject modal, `/keel`.

Every handler acknowledges Slack first and works after (Bolt runs listeners on a thread
pool), so no click times out. Decisions go through `Runtime.decide`, which holds policy:
who may approve, quorum, delegation. What the bot shows in threads follows the event log
through the `ThreadKeeper`; a handler asks it to catch up so the message a person just
clicked changes at once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from slack_bolt import Ack, App, BoltRequest, BoltResponse, Respond
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from graph import (
    AlreadyDecided,
    Approval,
    ApprovalStatus,
    KeelError,
    NotAuthorised,
    Runtime,
    UnknownRun,
)
from graph.assistant import Assistant
from graph.metrics import summarise
from graph.policy import Delegation

from . import blocks as b
from . import commands
from . import messages as m
from .ledger import Ledger
from .payloads import problem
from .people import People, SlackSetupError
from .threads import ORIGIN_PREFIX, ThreadKeeper

log = logging.getLogger("keel.slack")

SIGNATURE_MAX_AGE = 300
"""Seconds a signed request stays valid (Slack's rule against replays)."""
_MENTION = re.compile(r"<@[UW][A-Z0-9]+>")


class _Streaming:
    """Edits the placeholder with the reply so far as the model writes it, at most once per
    `every` seconds (Slack allows chat.update about once a second per message); the final
    edit, with the feedback buttons, is the caller's. A failed edit is logged and skipped:
    the answer still arrives whole."""

    def __init__(self, client: WebClient, channel: str, ts: str, every: float) -> None:
        self.client, self.channel, self.ts, self.every = client, channel, ts, every
        self._last = -math.inf
        self._shown = ""

    def __call__(self, text: str) -> None:
        now = time.monotonic()
        if now - self._last < self.every or not text.strip() or text == self._shown:
            return
        self._last, self._shown = now, text
        try:
            self.client.chat_update(channel=self.channel, ts=self.ts, text=text + m.WRITING)
        except SlackApiError as exc:
            log.warning("could not show the reply so far: %s", exc.response.get("error"))


def web_client(token: str, api_url: str, *, retries: int = 3, timeout: int = 15) -> WebClient:
    """A Web API client that waits out Slack's 429s (Retry-After) instead of dropping a message."""
    base = api_url if api_url.endswith("/") else api_url + "/"  # slack_sdk drops a last segment
    client = WebClient(token=token, base_url=base, timeout=timeout)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=retries))
    return client


class _ClientCarriesTheToken(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns it goes unused beside our client, which
    carries that same token; the warning would only mislead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.App").addFilter(_ClientCarriesTheToken())


class _TrackedExecutor(ThreadPoolExecutor):
    """Bolt's listener pool, counting work in flight so tests and benchmarks can wait for it."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers, thread_name_prefix="keel-slack")
        self._busy = 0
        self._idle = threading.Condition()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._idle:
            self._busy += 1
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future[Any]) -> None:
        with self._idle:
            self._busy -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float | None) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)


class SlackBot:
    """One Slack workspace's bot over a runtime. HTTP mode verifies Slack's signatures;
    Socket Mode (an app-level token) needs no public URL."""

    def __init__(
        self,
        runtime: Runtime,
        assistant: Assistant,
        client: WebClient,
        ledger: Ledger,
        *,
        signing_secret: str | None,
        listeners: int = 8,
        stream_every: float = 1.0,
    ) -> None:
        if not signing_secret:
            signing_secret = None
        self.stream_every = stream_every
        """Seconds between edits of an answer as it is written."""
        self.runtime = runtime
        self.assistant = assistant
        self.client = client
        self.ledger = ledger
        self.signing_secret = signing_secret
        self.people = People(runtime.policy)
        self.keeper = ThreadKeeper(runtime, client, ledger, self.people)
        self._executor = _TrackedExecutor(listeners)
        try:
            self.app = App(
                client=client,
                signing_secret=signing_secret,
                request_verification_enabled=signing_secret is not None,
                listener_executor=self._executor,
                ssl_check_enabled=False,
                url_verification_enabled=True,
            )
        except BoltError as exc:  # Bolt checks the token with auth.test here
            raise SlackSetupError(f"SLACK_BOT_TOKEN was not accepted by Slack: {exc}") from None
        self._register()

    # --- lifecycle ------------------------------------------------------------------------

    def check(self) -> None:
        """Validate the Slack side of policy against the workspace before serving, and note
        which workspace this is (for links to threads)."""
        self.people.check(self.client)
        self.ledger.set_team_id(str(self.client.auth_test()["team_id"]))

    def settle(self, timeout: float = 30.0) -> bool:
        """Wait until every handler, the runs they moved and the threads are done (tests, bench)."""
        ok = self._executor.wait_idle(timeout) and self.runtime.drain(timeout)
        self.keeper.sync()
        return ok and self._executor.wait_idle(timeout)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.ledger.close()

    # --- HTTP mode --------------------------------------------------------------------------

    def handle(self, raw: bytes, headers: Mapping[str, str]) -> BoltResponse:
        """One request from Slack, as an HTTP server received it.

        Bolt verifies the signature of what it can parse. A body it cannot parse, or one
        that is not shaped as Slack documents, is refused here: 401 unless it is properly
        signed, else 400 and an audit event.
        """
        try:
            request: BoltRequest | None = BoltRequest(
                body=raw.decode("utf-8"), headers=dict(headers)
            )
            wrong = problem(request.body) if request is not None else None
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            request, wrong = None, f"unreadable body: {type(exc).__name__}: {exc}"
        if wrong is not None:
            if not self._signed(raw, headers):
                return BoltResponse(status=401, body="")
            return self._refuse(wrong, len(raw))
        assert request is not None
        try:
            return self.app.dispatch(request)
        except Exception:  # a request must never take the server down with it
            log.exception("dispatching a Slack request failed")
            return BoltResponse(status=500, body="")

    def _signed(self, raw: bytes, headers: Mapping[str, str]) -> bool:
        """Slack's v0 signature over the raw bytes, from the last five minutes."""
        if self.signing_secret is None:
            return False
        lower = {k.lower(): v for k, v in headers.items()}
        stamp = lower.get("x-slack-request-timestamp", "")
        try:
            fresh = abs(time.time() - int(stamp)) <= SIGNATURE_MAX_AGE
        except ValueError:
            return False
        base = b"v0:" + stamp.encode() + b":" + raw
        expected = "v0=" + hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        return fresh and hmac.compare_digest(expected, lower.get("x-slack-signature", ""))

    def _refuse(self, reason: str, size: int) -> BoltResponse:
        """A signed request whose payload is not what Slack sends: 400 and an audit event."""
        log.warning("refused a Slack request: %s", reason)
        self.runtime.store.append_event(
            None, "slack.rejected", actor="slack", data={"reason": reason[:500], "bytes": size}
        )
        return BoltResponse(status=400, body=f"malformed payload: {reason[:200]}")

    # --- listeners ------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app
        app.event("app_mention")(self._on_mention)
        app.event("message")(self._on_message)
        app.event("app_home_opened")(self._on_home)
        app.action(b.APPROVE)(self._on_approve)
        app.action(b.REJECT)(self._on_reject)
        app.action(b.FEEDBACK_UP)(self._on_feedback)
        app.action(b.FEEDBACK_DOWN)(self._on_feedback)
        app.view(b.REJECT_REASON)(self._on_reject_reason)
        app.command("/keel")(self._on_command)
        app.error(self._on_error)

    def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error(
            "Slack handler failed for a %s: %s", body.get("type", "request"), error, exc_info=error
        )

    def _first_delivery(self, body: dict[str, Any], request: BoltRequest) -> bool:
        """Slack redelivers an event it thinks timed out; act on each event id once."""
        event_id = str(body["event_id"])
        if self.ledger.first_delivery(event_id, self.runtime.clock.now()):
            return True
        retry = (request.headers.get("x-slack-retry-num") or ["0"])[0]
        log.info("ignored a repeated delivery of Slack event %s (retry %s)", event_id, retry)
        return False

    # --- the assistant ----------------------------------------------------------------------

    def _on_mention(
        self, event: dict[str, Any], body: dict[str, Any], request: BoltRequest
    ) -> None:
        if self._first_delivery(body, request):
            self._converse(event)

    def _on_message(
        self, event: dict[str, Any], body: dict[str, Any], request: BoltRequest
    ) -> None:
        if (
            event.get("channel_type") != "im"
            or event.get("subtype")
            or event.get("bot_id")
            or not event.get("user")
        ):
            return  # edits, joins and bots' messages are not questions
        if self._first_delivery(body, request):
            self._converse(event)

    def _converse(self, event: dict[str, Any]) -> None:
        """Answer in the message's thread: a placeholder at once, the answer when it is ready."""
        channel, user = str(event["channel"]), str(event.get("user", ""))
        thread_ts = str(event.get("thread_ts") or event["ts"])
        said = _MENTION.sub("", str(event.get("text", ""))).strip()
        conversation = f"conv_slack_{channel}_{thread_ts}"
        placeholder = self.client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=m.THINKING
        )
        streaming = _Streaming(self.client, channel, str(placeholder["ts"]), self.stream_every)
        try:
            result = self.assistant.turn(
                conversation,
                self.people.person(user),
                said,
                origin=f"{ORIGIN_PREFIX}{channel}",
                on_text=streaming,
            )
            text, reply = result.text, b.assistant_reply(result.text, conversation, result.offline)
        except Exception as exc:
            log.exception("the assistant failed in %s", conversation)
            text = m.ASSISTANT_FAILED.format(error=type(exc).__name__)
            reply = b.assistant_reply(text, conversation, offline=False)
        self.client.chat_update(channel=channel, ts=placeholder["ts"], text=text, blocks=reply)
        self.keeper.sync()  # a run it started gets its thread now

    def _on_feedback(self, ack: Ack, body: dict[str, Any]) -> None:
        ack()
        action, user = body["actions"][0], body["user"]["id"]
        helpful = action["action_id"] == b.FEEDBACK_UP
        message = body.get("message") or {}
        self.runtime.store.append_event(
            action.get("value") or None,
            "assistant.feedback",
            actor=self.people.person(user),
            data={"helpful": helpful, "message_ts": message.get("ts")},
        )
        self._tell(user, _channel_of(body), m.FEEDBACK_THANKS)

    # --- approvals ------------------------------------------------------------------------

    def _on_approve(self, ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user, approval_id = body["user"]["id"], body["actions"][0]["value"]
        try:
            self.runtime.decide(approval_id, "approve", self.people.person(user))
        except KeelError as exc:
            self._tell(user, _channel_of(body), self._refusal(exc, approval_id))
        self.keeper.sync()

    def _on_reject(self, ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user, approval_id = body["user"]["id"], body["actions"][0]["value"]
        try:  # refuse before asking for a reason nobody may give
            self.runtime.authorise(approval_id, self.people.person(user))
        except KeelError as exc:
            self._tell(user, _channel_of(body), self._refusal(exc, approval_id))
            return
        self.client.views_open(
            trigger_id=body["trigger_id"],
            view=b.reject_reason_modal(approval_id, _channel_of(body)),
        )

    def _on_reject_reason(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        try:
            approval_id, channel = b.approval_id_from(view), b.channel_from(view)
            reason = b.reason_from(view)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self._refuse(f"view_submission: unreadable reject form: {exc!r}", 0)
            ack(response_action="errors", errors={b.REASON: m.FORM_BROKEN})
            return
        if len(reason) < 3:
            ack(response_action="errors", errors={b.REASON: m.REASON_TOO_SHORT})
            return
        approval = self.runtime.store.approval(approval_id)
        if approval is not None and approval.status is not ApprovalStatus.PENDING:
            ack(response_action="errors", errors={b.REASON: self._already(approval)})
            return
        ack()
        try:
            self.runtime.decide(approval_id, "reject", self.people.person(user), reason)
        except KeelError as exc:
            self._tell(user, channel, self._refusal(exc, approval_id))
        self.keeper.sync()

    def _refusal(self, exc: KeelError, approval_id: str) -> str:
        """What to tell someone whose click changed nothing."""
        if isinstance(exc, AlreadyDecided):
            approval = self.runtime.store.approval(approval_id)
            if approval is not None:
                return self._already(approval)
        return m.refused(str(exc)) if isinstance(exc, NotAuthorised) else str(exc)

    def _already(self, approval: Approval) -> str:
        by = self.people.mention(approval.decided_by or "policy")
        return m.already_decided(approval.status, by, approval.decided_at)

    def _standins(self, approval: Approval) -> list[Delegation]:
        return self.people.standins(approval, self.runtime.clock.now())

    def _tell(self, user: str, channel: str | None, text: str) -> None:
        """A message only `user` sees: ephemeral where they clicked, else in their DM."""
        if channel:
            self.client.chat_postEphemeral(channel=channel, user=user, text=text)
            return
        dm = self.client.conversations_open(users=user)["channel"]["id"]
        self.client.chat_postMessage(channel=dm, text=text)

    # --- /keel ------------------------------------------------------------------------------

    def _on_command(self, ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        user, channel = command["user_id"], command["channel_id"]
        person = self.people.person(user)
        try:
            parsed = commands.parse(command.get("text", ""))
        except commands.Usage as exc:
            ack(text=str(exc))
            return
        match parsed.verb:
            case "help":
                ack(text=m.HELP)
            case "status":
                try:
                    detail = self.runtime.get(parsed.run_id or "")
                except UnknownRun as exc:
                    ack(text=str(exc))
                    return
                ack(
                    text=b.run_fallback(detail.run),
                    blocks=b.run_root(detail, mention=self.people.mention),
                )
            case "pending":
                waiting = self.runtime.pending_approvals(person)
                shown: list[dict[str, Any]] = []
                for approval in waiting[:10]:
                    shown += b.approval_request(
                        approval, self.people.mention, self._standins(approval)
                    )
                ack(text=m.pending_summary(len(waiting)), blocks=shown or None)
            case "start":
                ack(text=m.STARTING)
                self._start(parsed, person, channel, respond)
            case _:
                ack(text=m.unknown_command(command.get("text", "")))

    def _start(self, parsed: commands.Command, person: str, channel: str, respond: Respond) -> None:
        try:
            run = self.runtime.start(
                parsed.workflow or "", parsed.data, person, origin=f"{ORIGIN_PREFIX}{channel}"
            )
        except KeelError as exc:
            respond(text=m.start_refused(str(exc)), replace_original=True)
            return
        self.keeper.sync()
        thread = self.keeper.thread_of(run.id)
        respond(text=m.started(run.id, thread.channel if thread else None), replace_original=True)

    # --- App Home ---------------------------------------------------------------------------

    def _on_home(self, event: dict[str, Any]) -> None:
        user = str(event["user"])
        person = self.people.person(user)
        recent = [r for r in self.runtime.runs(limit=500) if r.requested_by == person][:10]
        today = summarise(
            self.runtime.runs(limit=100_000), self.runtime.clock.now() - timedelta(days=1)
        )
        self.client.views_publish(
            user_id=user,
            view=b.home_view(
                self.runtime.pending_approvals(person),
                recent,
                m.home_metrics(today),
                self.people.mention,
                self._standins,
            ),
        )


def _channel_of(body: dict[str, Any]) -> str | None:
    """Where a click happened: a channel or DM id; None for the App Home."""
    container = body.get("container") or {}
    if container.get("type") == "view":
        return None
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    return str(channel) if channel else None
