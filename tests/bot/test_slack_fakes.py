"""The Slack test seam, proved with the real clients: slack_sdk's WebClient and a Bolt App."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import Ack, App, BoltRequest, Respond, Say
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.fakes import BOT_USER_ID, SIGNING_SECRET, TEAM_ID, SlackAPI, slack_requests

Json = dict[str, Any]


@pytest.fixture
def slack() -> Iterator[SlackAPI]:
    with SlackAPI() as running:
        yield running


@pytest.fixture
def client(slack: SlackAPI) -> WebClient:
    return WebClient(token="xoxb-test", base_url=slack.url)


@pytest.fixture
def app(client: WebClient) -> App:
    return App(client=client, signing_secret=SIGNING_SECRET)


# -- the Web API fake, through WebClient -------------------------------------------------


def test_url_ends_in_a_slash_so_the_client_keeps_the_api_prefix(slack: SlackAPI) -> None:
    assert slack.url.startswith("http://127.0.0.1:")
    assert slack.url.endswith("/api/")


def test_post_reply_and_update_are_kept_as_slack_shows_them(
    slack: SlackAPI, client: WebClient
) -> None:
    parent = client.chat_postMessage(
        channel="C1", text="Refund £40?", blocks=[{"type": "section", "block_id": "ask"}]
    )
    reply = client.chat_postMessage(channel="C1", text="waiting", thread_ts=parent["ts"])
    client.chat_update(channel="C1", ts=parent["ts"], text="Approved by <@U1>", blocks=[])

    assert parent["channel"] == "C1" and parent["message"]["text"] == "Refund £40?"
    assert float(reply["ts"]) > float(parent["ts"])
    assert [(m.ts, m.text, m.blocks, m.thread_ts, m.edited) for m in slack.messages("C1")] == [
        (parent["ts"], "Approved by <@U1>", [], None, True),
        (reply["ts"], "waiting", [], parent["ts"], False),
    ]
    assert list(slack.threads()) == [("C1", parent["ts"])]
    assert slack.count("chat.postMessage") == 2 and slack.count("chat.update") == 1
    posted = slack.calls("chat.postMessage")[0]
    assert posted.token == "xoxb-test"
    assert posted.headers["authorization"] == "Bearer xoxb-test"
    assert posted.params["blocks"] == [{"type": "section", "block_id": "ask"}]


def test_dm_ephemeral_home_and_user(slack: SlackAPI, client: WebClient) -> None:
    dm = client.conversations_open(users="U1")["channel"]["id"]
    client.chat_postMessage(channel=dm, text="Escalation: refund waiting 2 h")
    ephemeral = client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    client.views_publish(user_id="U1", view={"type": "home", "blocks": []})
    modal = client.views_open(trigger_id="t1", view={"type": "modal", "callback_id": "why"})
    user = client.users_info(user="U1")["user"]

    assert dm == slack.dm_channel("U1") and dm.startswith("D")
    assert [m.text for m in slack.messages(dm)] == ["Escalation: refund waiting 2 h"]
    assert ephemeral["message_ts"]
    assert slack.home_view("U1") is not None and slack.home_view("U1")["type"] == "home"
    assert modal["view"]["callback_id"] == "why" and modal["view"]["id"].startswith("V")
    assert {k: user[k] for k in ("id", "name", "real_name")} == {
        "id": "U1",
        "name": "u1",
        "real_name": "User U1",
    }
    assert "display_name" in user["profile"]


def test_a_429_is_retried_after_retry_after_and_lands_once(
    slack: SlackAPI, client: WebClient
) -> None:
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    # slack_sdk sleeps Retry-After plus up to 1 s of jitter; 0 keeps the test under ~1 s.
    slack.rate_limit_next("chat.postMessage", retry_after=0)

    client.chat_postMessage(channel="C1", text="once")

    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 200]
    assert [m.text for m in slack.messages()] == ["once"]


def test_a_429_without_a_retry_handler_surfaces(slack: SlackAPI, client: WebClient) -> None:
    slack.rate_limit_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="x")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert slack.messages() == []


def test_fail_next_answers_ok_false_once(slack: SlackAPI, client: WebClient) -> None:
    slack.fail_next("chat.postMessage", "channel_not_found")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C404", text="x")
    assert raised.value.response["error"] == "channel_not_found"
    assert client.chat_postMessage(channel="C1", text="y")["ok"] is True


def test_a_wrong_token_is_invalid_auth(slack: SlackAPI) -> None:
    with pytest.raises(SlackApiError) as raised:
        WebClient(token="xoxb-wrong", base_url=slack.url).auth_test()
    assert raised.value.response["error"] == "invalid_auth"


def test_unknown_message_cannot_be_updated(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel="C1", ts="1.000000", text="x")
    assert raised.value.response["error"] == "message_not_found"


# -- signed requests, through a Bolt App -------------------------------------------------


def test_app_construction_calls_auth_test(slack: SlackAPI, app: App) -> None:
    assert slack.count("auth.test") == 1
    assert slack.calls("auth.test")[0].response["user_id"] == BOT_USER_ID


def test_app_mention_reaches_the_listener_and_say_replies_in_thread(
    slack: SlackAPI, app: App
) -> None:
    heard: queue.Queue[Json] = queue.Queue()

    @app.event("app_mention")
    def on_mention(body: Json, event: Json, say: Say) -> None:
        heard.put({"event_id": body["event_id"], "text": event["text"]})
        say(text="on it", thread_ts=event["ts"])

    request = slack_requests.app_mention(
        f"<@{BOT_USER_ID}> refunds?", channel="C1", ts="1700000000.000900", event_id="Ev1"
    )
    response = app.dispatch(request.bolt())

    assert response.status == 200
    assert heard.get(timeout=2) == {"event_id": "Ev1", "text": f"<@{BOT_USER_ID}> refunds?"}
    _wait_for(lambda: slack.count("chat.postMessage") == 1)
    assert slack.threads()[("C1", "1700000000.000900")][0].text == "on it"


def test_message_im_and_retry_headers(app: App) -> None:
    heard: queue.Queue[tuple[str, str, str]] = queue.Queue()

    @app.event("message")
    def on_dm(event: Json, request: BoltRequest) -> None:
        # Bolt passes the headers through (lower-cased, as lists); it adds no retry context.
        heard.put(
            (
                event["text"],
                event["channel_type"],
                request.headers.get("x-slack-retry-num", ["0"])[0],
            )
        )

    request = slack_requests.message_im("hi", event_id="Ev2", retry_num=1)
    assert request.headers["X-Slack-Retry-Num"] == "1"
    assert request.headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert app.dispatch(request.bolt()).status == 200
    assert heard.get(timeout=2) == ("hi", "im", "1")


def test_block_actions_reach_the_listener_and_respond_goes_to_response_url(
    slack: SlackAPI, app: App
) -> None:
    heard: queue.Queue[Json] = queue.Queue()

    @app.action("approve")
    def on_approve(ack: Ack, body: Json, action: Json, respond: Respond) -> None:
        ack()
        heard.put(
            {
                "value": action["value"],
                "block_id": action["block_id"],
                "user": body["user"]["id"],
                "channel": body["container"]["channel_id"],
                "message_ts": body["container"]["message_ts"],
                "trigger_id": body["trigger_id"],
                "team": body["team"]["id"],
            }
        )
        respond(text="approved", replace_original=True)

    request = slack_requests.block_actions(
        "approve",
        "run-1:refund:n0",
        user="U7",
        channel="C1",
        message_ts="1700000000.000500",
        trigger_id="t-1",
        response_url=slack.response_url("r1"),
        block_id="ask-1",
    )
    response = app.dispatch(request.bolt())

    assert response.status == 200
    assert heard.get(timeout=2) == {
        "value": "run-1:refund:n0",
        "block_id": "ask-1",
        "user": "U7",
        "channel": "C1",
        "message_ts": "1700000000.000500",
        "trigger_id": "t-1",
        "team": TEAM_ID,
    }
    _wait_for(lambda: slack.count("response_url") == 1)
    assert slack.calls("response_url")[0].params == {"text": "approved", "replace_original": True}


def test_view_submission_reaches_the_listener_and_ack_can_return_errors(app: App) -> None:
    heard: queue.Queue[Json] = queue.Queue()

    @app.view("reject_reason")
    def on_reject(ack: Ack, view: Json, body: Json) -> None:
        reason = view["state"]["values"]["reason"]["text"]["value"]
        heard.put(
            {
                "metadata": json.loads(view["private_metadata"]),
                "reason": reason,
                "user": body["user"]["id"],
            }
        )
        ack(response_action="errors", errors={"reason": "Say a bit more"})

    values = slack_requests.plain_text_values({"reason": {"text": "no"}})
    request = slack_requests.view_submission(
        "reject_reason", json.dumps({"run_id": "r1"}), values, user="U7"
    )
    response = app.dispatch(request.bolt())

    assert response.status == 200
    assert json.loads(response.body) == {
        "response_action": "errors",
        "errors": {"reason": "Say a bit more"},
    }
    assert heard.get(timeout=2) == {"metadata": {"run_id": "r1"}, "reason": "no", "user": "U7"}


def test_slash_command_reaches_the_listener(slack: SlackAPI, app: App) -> None:
    heard: queue.Queue[Json] = queue.Queue()

    @app.command("/keel")
    def on_keel(ack: Ack, command: Json) -> None:
        ack(text="Working on it")
        heard.put({k: command[k] for k in ("text", "user_id", "channel_id", "trigger_id")})

    request = slack_requests.slash_command(
        "/keel",
        "status r1",
        user="U7",
        channel="C1",
        trigger_id="t-9",
        response_url=slack.response_url(),
    )
    response = app.dispatch(request.bolt())

    assert response.status == 200
    assert response.body == "Working on it"
    assert heard.get(timeout=2) == {
        "text": "status r1",
        "user_id": "U7",
        "channel_id": "C1",
        "trigger_id": "t-9",
    }


def test_a_forged_signature_is_refused(app: App) -> None:
    request = slack_requests.slash_command("/keel", secret="not-the-secret")
    assert app.dispatch(request.bolt()).status == 401


def test_a_stale_timestamp_is_refused(app: App) -> None:
    request = slack_requests.app_mention(timestamp=int(time.time()) - 301)
    assert app.dispatch(request.bolt()).status == 401


def test_sign_matches_slacks_v0_scheme() -> None:
    headers = slack_requests.sign(
        "8f742231b10e8888abcd99yyyzzz85a5", b"token=xyz&team_id=T1", 1531420618
    )
    assert headers["X-Slack-Request-Timestamp"] == "1531420618"
    assert headers["X-Slack-Signature"].startswith("v0=")
    assert len(headers["X-Slack-Signature"]) == 3 + 64


def _wait_for(condition: Any, timeout: float = 2.0) -> None:
    """Bolt runs listeners after ack in a worker thread; wait for their effects."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the listener"
        time.sleep(0.005)
