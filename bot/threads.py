"""A Slack thread per run, kept in step with the event log, wherever the run was started.

The keeper reads new events from its cursor and, per run, posts a root message once, edits
it as the run moves, replies in the thread for each meaningful step, posts the approval
with its buttons (and replaces it once decided, everywhere it was shown), and sends the
direct messages policy asks for: escalations and reminders to approvers, failures to the
on-call person. Every post is recorded in the ledger under a key naming why it was made,
so a pass cut short is replayed without posting twice.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from graph import Approval, ApprovalStatus, Event, Run, Runtime
from graph.policy import Delegation

from . import blocks as b
from . import messages as m
from .ledger import Ledger, Message
from .people import People

log = logging.getLogger("keel.slack")

ORIGIN_PREFIX = "slack:"
"""Runs started from Slack carry origin `slack:<channel id>`; their thread goes there."""

PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_found",
        "cannot_dm_bot",
        "msg_too_long",
        "invalid_blocks",
        "no_text",
        "message_not_found",
        "cant_update_message",
        "user_disabled",
        "restricted_action",
    }
)
"""Slack errors that the same call would meet again: recorded and skipped, never retried."""
POSTED = "keel_post"
"""The metadata event type of every message the keeper posts; its payload names the key."""
LOOK_BACK = 200
"""Messages searched for a post whose answer was lost (it went out moments before)."""


class ThreadKeeper:
    def __init__(
        self,
        runtime: Runtime,
        client: WebClient,
        ledger: Ledger,
        people: People,
        *,
        batch: int = 500,
    ) -> None:
        self.runtime = runtime
        self.client = _without_blind_retries(client)
        self.ledger = ledger
        self.people = people
        self.batch = batch
        self._lock = threading.Lock()
        self._dm_channels: dict[str, str] = {}
        if ledger.cursor() is None:  # a new install follows from now, not the whole history
            ledger.set_cursor(runtime.store.last_event_id())

    # --- the loop -------------------------------------------------------------------------

    def serve(self, stop: threading.Event, every: float = 0.3) -> None:
        while not stop.is_set():
            try:
                busy = self.sync()
            except Exception:  # the loop outlives one bad pass; the cursor keeps the place
                log.exception("Slack thread pass failed")
                busy = 0
            if not busy:
                stop.wait(every)

    def sync(self) -> int:
        """Bring Slack up to date with the event log; returns how many events were applied.

        A Slack error the same call would meet again is recorded as a `slack.failed` event
        and skipped; anything else (Slack unreachable, still rate-limited after retries)
        stops the pass with the cursor on the event, to be tried again.
        """
        with self._lock:
            cursor = self.ledger.cursor() or 0
            events = self.runtime.events(since=cursor, limit=self.batch)
            dirty: dict[str, Run] = {}
            applied = 0
            try:
                for event in events:
                    try:
                        self._apply(event, dirty)
                    except SlackApiError as exc:
                        if (error := _permanent(exc)) is None:
                            raise
                        self._failed(event, error)
                    self.ledger.set_cursor(event.id)
                    applied += 1
            except Exception:
                with contextlib.suppress(Exception):  # the next pass starts past these runs
                    self._refresh_roots(dirty)
                raise
            self._refresh_roots(dirty)
            return applied

    def _refresh_roots(self, runs: dict[str, Run]) -> None:
        for run in runs.values():
            try:
                self._refresh_root(run)
            except SlackApiError as exc:
                if _permanent(exc) is None:
                    raise
                log.warning("could not edit the root of run %s: %s", run.id, _permanent(exc))

    def _failed(self, event: Event, error: str) -> None:
        log.warning("Slack refused the message for event %s (%s): %s", event.id, event.kind, error)
        if not event.kind.startswith("slack."):
            self.runtime.store.append_event(
                event.run_id,
                "slack.failed",
                actor="slack",
                data={"event_id": event.id, "kind": event.kind, "error": error},
            )

    # --- one event ------------------------------------------------------------------------

    def _apply(self, event: Event, dirty: dict[str, Run]) -> None:
        run = self.runtime.store.run(event.run_id) if event.run_id else None
        if run is None:  # conversation turns and the bot's own notes have no thread
            return
        root = self._thread(run, event)
        if root is None:
            return
        dirty[run.id] = run
        data, mention = event.data, self.people.mention
        match event.kind:
            case "approval.requested":
                approval = self.runtime.store.approval(str(data.get("approval_id")))
                if approval is not None:
                    self._post(
                        f"approval:{approval.id}",
                        root.channel,
                        approval.id,
                        thread_ts=root.ts,
                        text=b.approval_fallback(approval),
                        blocks=self._approval_blocks(approval),
                    )
            case "approval.voted" | "approval.decided" | "approval.expired":
                self._refresh_approval(str(data.get("approval_id")))
            case "run.cancel_requested" | "run.finished":
                for approval in self.runtime.store.approvals(run_id=run.id):
                    self._refresh_approval(approval.id)
            case "approval.escalated":
                approval = self.runtime.store.approval(str(data.get("approval_id")))
                if approval is not None:
                    self._refresh_approval(approval.id)
                    self._dm_each(
                        event,
                        data.get("notify") or [],
                        approval,
                        b.escalation_dm(
                            approval,
                            int(data.get("level", 1)),
                            str(data.get("role", "?")),
                            mention,
                            self._standins(approval),
                        ),
                        b.escalation_fallback(approval, int(data.get("level", 1))),
                    )
            case "approval.reminded":
                approval = self.runtime.store.approval(str(data.get("approval_id")))
                if approval is not None and approval.status is ApprovalStatus.PENDING:
                    self._dm_each(
                        event,
                        data.get("notify") or [],
                        approval,
                        b.reminder_dm(approval, mention, self._standins(approval)),
                        m.reminder_fallback(approval.request.what),
                    )
            case "escalation.raised":
                if to := data.get("to"):
                    self._dm(
                        f"failure:{event.id}",
                        str(to),
                        b.failure_dm(run, str(data.get("reason", "")), root.channel, mention),
                        m.failure_fallback(run.id),
                    )
        if lines := b.step_reply(event, mention):
            self._post(
                f"line:{event.id}",
                root.channel,
                thread_ts=root.ts,
                text=b.step_line(event, mention) or "",
                blocks=lines,
            )

    # --- threads ----------------------------------------------------------------------------

    def channel_for(self, run: Run) -> str | None:
        """The run's channel: where it was started in Slack, else its workflow's, else policy's."""
        if run.origin.startswith(ORIGIN_PREFIX):
            return run.origin.removeprefix(ORIGIN_PREFIX)
        policy = self.runtime.policy
        return policy.workflow(run.workflow).channel or policy.slack.channel

    def _thread(self, run: Run, event: Event) -> Message | None:
        """The run's root message, posted on first need; None when the run has no thread."""
        key = f"root:{run.id}"
        if (root := self.ledger.message(key)) is not None:
            return root if root.ts else None
        channel = self.channel_for(run)
        if channel is None:
            return None
        try:
            return self._post(
                key,
                channel,
                text=b.run_fallback(run),
                blocks=b.run_root(self.runtime.get(run.id), mention=self.people.mention),
            )
        except SlackApiError as exc:
            if (error := _permanent(exc)) is None:
                raise
            self.ledger.record(key, channel, "")  # no thread for this run: say so once
            self._failed(event, error)
            return None

    def thread_of(self, run_id: str) -> Message | None:
        root = self.ledger.message(f"root:{run_id}")
        return root if root is not None and root.ts else None

    def _refresh_root(self, run: Run) -> None:
        root = self.thread_of(run.id)
        if root is None:
            return
        detail = self.runtime.get(run.id)
        self._update(
            root,
            text=b.run_fallback(detail.run),
            blocks=b.run_root(detail, mention=self.people.mention),
        )

    # --- approvals --------------------------------------------------------------------------

    def _approval_blocks(self, approval: Approval) -> list[dict[str, Any]]:
        if approval.status is ApprovalStatus.PENDING:
            return b.approval_request(approval, self.people.mention, self._standins(approval))
        return b.approval_decided(approval, self.people.mention)

    def _standins(self, approval: Approval) -> list[Delegation]:
        return self.people.standins(approval, self.runtime.clock.now())

    def _refresh_approval(self, approval_id: str) -> None:
        """Show the approval as it stands now in every message that shows it."""
        approval = self.runtime.store.approval(approval_id)
        if approval is None:
            return
        text = (
            b.approval_fallback(approval)
            if approval.status is ApprovalStatus.PENDING
            else b.decided_fallback(approval, self.people.mention)
        )
        for message in self.ledger.approval_messages(approval_id):
            self._update(message, text=text, blocks=self._approval_blocks(approval))

    # --- direct messages ----------------------------------------------------------------------

    def _dm_each(
        self,
        event: Event,
        people: list[str],
        approval: Approval,
        blocks: list[dict[str, Any]],
        text: str,
    ) -> None:
        for person in people:
            self._dm(f"dm:{event.id}:{person}", person, blocks, text, approval.id)

    def _dm(
        self,
        key: str,
        person: str,
        blocks: list[dict[str, Any]],
        text: str,
        approval_id: str | None = None,
    ) -> None:
        user_id = self.people.user_id(person)
        if user_id is None:
            log.info("no Slack user for %s in policy [slack.users]; no DM sent", person)
            return
        channel = self._dm_channels.get(user_id)
        if channel is None:
            channel = self.client.conversations_open(users=user_id)["channel"]["id"]
            self._dm_channels[user_id] = channel
        self._post(key, channel, approval_id, text=text, blocks=blocks)

    # --- Slack calls ----------------------------------------------------------------------------

    def _post(
        self,
        key: str,
        channel: str,
        approval_id: str | None = None,
        *,
        text: str,
        blocks: list[dict[str, Any]],
        thread_ts: str | None = None,
    ) -> Message:
        """Post once per key: a replayed pass finds the message in the ledger, or, when the
        answer to an earlier try was lost, in Slack by the key in its metadata."""
        if (done := self.ledger.message(key)) is not None:
            return done
        if (
            self.ledger.was_posting(key)
            and (found := self._find_posted(key, channel, thread_ts)) is not None
        ):
            self.ledger.record(key, found.channel, found.ts, approval_id)
            return found
        self.ledger.posting(key, channel, thread_ts)
        reply = self.client.chat_postMessage(
            channel=channel,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            unfurl_links=False,
            metadata={"event_type": POSTED, "event_payload": {"key": key}},
        )
        message = Message(str(reply["channel"]), str(reply["ts"]))
        self.ledger.record(key, message.channel, message.ts, approval_id)
        return message

    def _find_posted(self, key: str, channel: str, thread_ts: str | None) -> Message | None:
        """The message an earlier try posted under `key`, among the channel's (or thread's)
        latest; None when it is not there (it never went out) or Slack will not say."""
        try:
            if thread_ts is not None:
                found = self.client.conversations_replies(
                    channel=channel, ts=thread_ts, include_all_metadata=True, limit=LOOK_BACK
                )
            else:
                found = self.client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=LOOK_BACK
                )
        except SlackApiError as exc:  # e.g. missing_scope: post again rather than never
            log.warning(
                "could not look for an earlier post of %s: %s",
                key,
                exc.response.get("error") if exc.response is not None else exc,
            )
            return None
        for message in found.get("messages") or []:
            meta = message.get("metadata") or {}
            if (
                meta.get("event_type") == POSTED
                and (meta.get("event_payload") or {}).get("key") == key
            ):
                return Message(channel, str(message["ts"]))
        return None

    def _update(self, message: Message, *, text: str, blocks: list[dict[str, Any]]) -> None:
        self.client.chat_update(channel=message.channel, ts=message.ts, text=text, blocks=blocks)


def _without_blind_retries(client: WebClient) -> WebClient:
    """The client without slack_sdk's retry of a call whose connection dropped: a post
    retried there, below the keeper, could go out twice. The keeper retries on its next
    pass, looking for the post first."""
    handlers = [h for h in client.retry_handlers if not isinstance(h, ConnectionErrorRetryHandler)]
    if len(handlers) == len(client.retry_handlers):
        return client
    careful = copy.copy(client)
    careful.retry_handlers = handlers
    return careful


def _permanent(exc: SlackApiError) -> str | None:
    """Slack's error code when retrying the same call cannot help, else None."""
    error = str(exc.response.get("error", "")) if exc.response is not None else ""
    return error if error in PERMANENT else None
