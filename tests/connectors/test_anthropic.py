"""AnthropicModel through the real SDK, against the loopback fake of the Messages API."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from pydantic import BaseModel

from connectors.anthropic import AnthropicModel
from connectors.llm import (
    Message,
    Model,
    ModelBadRequest,
    ModelOverloaded,
    ModelUnavailable,
    Price,
    TextBlock,
    ToolResultBlock,
    Usage,
    cost_of,
    tool_spec,
)

from ..fakes import (
    Answer,
    MessagesAPI,
    ToolUse,
    bad_request,
    overloaded,
    rate_limited,
    server_error,
    tokens,
)

MODEL = "claude-sonnet-5-5"
KEY = "sk-ant-test"
SYSTEM = "You are Keel's operations assistant. Refunds over 100.00 need approval."
SONNET = Price(
    input=Decimal("2.00"),
    output=Decimal("10.00"),
    cache_write=Decimal("2.50"),
    cache_read=Decimal("0.10"),
)


class LookUpOrder(BaseModel):
    order_id: int


class RefundOrder(BaseModel):
    order_id: int
    amount: str


TOOLS = [
    tool_spec("look_up_order", "Find an order by its number.", LookUpOrder),
    tool_spec("refund_order", "Refund part or all of an order.", RefundOrder),
]


@pytest.fixture
def api() -> Iterator[MessagesAPI]:
    with MessagesAPI(api_key=KEY) as running:
        yield running


@pytest.fixture
def model(api: MessagesAPI) -> Iterator[AnthropicModel]:
    with AnthropicModel(
        MODEL, api_key=KEY, base_url=api.url, max_retries=0, timeout=5, prices=SONNET
    ) as built:
        yield built


def ask(model: AnthropicModel, text: str = "How is order 1042?", **kwargs):
    return model.complete(system=SYSTEM, messages=[Message.user(text)], tools=TOOLS, **kwargs)


def test_is_a_model(model: AnthropicModel) -> None:
    assert isinstance(model, Model)
    assert model.name == MODEL


def test_text_reply(api: MessagesAPI, model: AnthropicModel) -> None:
    api.add(Answer(text="Order 1042 shipped on Monday."))

    reply = ask(model, max_tokens=300)

    assert (reply.model, reply.text, reply.tool_calls, reply.stop_reason, reply.offline) == (
        MODEL,
        "Order 1042 shipped on Monday.",
        [],
        "end_turn",
        False,
    )
    sent = api.last
    assert sent.path == "/v1/messages"
    assert sent.headers["authorization"] == f"Bearer {KEY}"  # the SDK's way of sending the key
    assert sent.body["model"] == MODEL
    assert sent.body["max_tokens"] == 300
    assert sent.body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "How is order 1042?"}]}
    ]
    assert not {"temperature", "top_p", "top_k"} & sent.body.keys()


def test_stable_prefix_is_marked_for_caching(api: MessagesAPI, model: AnthropicModel) -> None:
    api.add(Answer(text="ok"))

    ask(model)

    body = api.last.body
    assert body["system"] == [
        {"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}
    ]
    assert body["tools"] == [
        {
            "name": "look_up_order",
            "description": "Find an order by its number.",
            "input_schema": LookUpOrder.model_json_schema(),
        },
        {
            "name": "refund_order",
            "description": "Refund part or all of an order.",
            "input_schema": RefundOrder.model_json_schema(),
            "cache_control": {"type": "ephemeral"},
        },
    ]


def test_tool_use_becomes_tool_calls(api: MessagesAPI, model: AnthropicModel) -> None:
    api.add(
        Answer(
            text="Let me look.",
            tool_uses=(
                ToolUse("look_up_order", {"order_id": 1042}, id="toolu_1"),
                ToolUse("refund_order", {"order_id": 1042, "amount": "12.00"}, id="toolu_2"),
            ),
        )
    )

    reply = ask(model)

    assert reply.stop_reason == "tool_use"
    assert reply.text == "Let me look."
    assert [(c.id, c.name, c.arguments) for c in reply.tool_calls] == [
        ("toolu_1", "look_up_order", {"order_id": 1042}),
        ("toolu_2", "refund_order", {"order_id": 1042, "amount": "12.00"}),
    ]


def test_tool_results_go_back_in_a_user_turn(api: MessagesAPI, model: AnthropicModel) -> None:
    def responder(body: dict) -> Answer:
        results = [b for b in body["messages"][-1]["content"] if b["type"] == "tool_result"]
        return Answer(text=f"The order says: {results[0]['content']}")

    api.responder = responder
    api.add(Answer(tool_uses=(ToolUse("look_up_order", {"order_id": 1042}, id="toolu_9"),)))
    history = [Message.user("How is order 1042?")]
    first = model.complete(system=SYSTEM, messages=history, tools=TOOLS)
    history += [
        first.as_message(),
        Message(
            role="user",
            content=[
                TextBlock(text="Here you go."),
                ToolResultBlock(tool_use_id="toolu_9", content="shipped Monday"),
            ],
        ),
    ]

    second = model.complete(system=SYSTEM, messages=history, tools=TOOLS)

    assert second.text == "The order says: shipped Monday"
    assert api.last.body["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_9",
                    "name": "look_up_order",
                    "input": {"order_id": 1042},
                }
            ],
        },
        {
            "role": "user",
            "content": [  # tool results first, as the API requires
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_9",
                    "content": "shipped Monday",
                    "is_error": False,
                },
                {"type": "text", "text": "Here you go."},
            ],
        },
    ]


def test_usage_maps_every_kind_of_token(api: MessagesAPI, model: AnthropicModel) -> None:
    api.add(
        Answer(
            text="ok",
            usage={
                "input_tokens": 21,
                "output_tokens": 7,
                "cache_creation_input_tokens": 1500,
                "cache_read_input_tokens": 0,
            },
        ),
        Answer(
            text="ok",
            usage={
                "input_tokens": 21,
                "output_tokens": 7,
                "cache_creation_input_tokens": None,
                "cache_read_input_tokens": None,
            },
        ),
    )

    assert ask(model).usage == Usage(input_tokens=21, output_tokens=7, cache_write_tokens=1500)
    assert ask(model).usage == Usage(input_tokens=21, output_tokens=7)


def test_the_second_identical_prefix_is_read_from_the_cache(
    api: MessagesAPI,
    model: AnthropicModel,
) -> None:
    api.add(Answer(text="first"), Answer(text="second"))

    first = ask(model, "How is order 1042?")
    second = ask(model, "And order 1043?")

    assert first.usage.cache_write_tokens > 0 and first.usage.cache_read_tokens == 0
    assert second.usage.cache_read_tokens == first.usage.cache_write_tokens
    assert second.usage.cache_write_tokens == 0
    assert second.usage.input_tokens == tokens(api.last.body["messages"])


def test_cost_is_tokens_times_prices(api: MessagesAPI, model: AnthropicModel) -> None:
    api.add(
        Answer(
            text="ok",
            usage={
                "input_tokens": 1_000,
                "output_tokens": 500,
                "cache_creation_input_tokens": 2_000,
                "cache_read_input_tokens": 10_000,
            },
        )
    )

    reply = ask(model)

    # 1000 × $2 + 500 × $10 + 2000 × $2.50 + 10000 × $0.10, per million tokens
    by_hand = (Decimal(2_000) + Decimal(5_000) + Decimal(5_000) + Decimal(1_000)) / 1_000_000
    assert by_hand == Decimal("0.013")
    assert cost_of(reply.usage, SONNET) == by_hand
    assert model.cost(reply.usage) == by_hand


def test_a_rate_limit_is_retried_by_the_sdk(api: MessagesAPI) -> None:
    api.add(rate_limited(retry_after_ms=1), Answer(text="ok"))
    started = time.monotonic()

    with AnthropicModel(MODEL, api_key=KEY, base_url=api.url, max_retries=1, timeout=5) as model:
        reply = ask(model)

    assert reply.text == "ok"
    assert [r.headers["x-stainless-retry-count"] for r in api.calls()] == ["0", "1"]
    assert time.monotonic() - started < 1  # the SDK waited retry-after-ms, not its backoff


def test_a_rate_limit_past_the_retries_is_overloaded(api: MessagesAPI) -> None:
    api.add(rate_limited(), rate_limited())

    with (
        AnthropicModel(MODEL, api_key=KEY, base_url=api.url, max_retries=1, timeout=5) as model,
        pytest.raises(ModelOverloaded) as caught,
    ):
        ask(model)

    assert caught.value.status_code == 429
    assert caught.value.attempts == 2
    assert "rate_limit_error" in caught.value.detail
    assert len(api.calls()) == 2


def test_overloaded(api: MessagesAPI, model: AnthropicModel) -> None:
    api.add(overloaded())

    with pytest.raises(ModelOverloaded) as caught:
        ask(model)

    error = caught.value
    assert (error.connector, error.operation, error.target, error.status_code, error.attempts) == (
        "anthropic",
        "messages.create",
        MODEL,
        529,
        1,
    )
    assert error.request == f"POST {api.url}/v1/messages"
    assert error.message.startswith(
        f"anthropic: messages.create on {MODEL} failed: 529 overloaded_error: Overloaded"
    )
    assert len(api.calls()) == 1


def test_server_error_is_unavailable(api: MessagesAPI, model: AnthropicModel) -> None:
    api.add(server_error())

    with pytest.raises(ModelUnavailable) as caught:
        ask(model)

    assert caught.value.status_code == 500
    assert "api_error: Internal server error" in caught.value.detail


def test_bad_request_carries_the_apis_message(api: MessagesAPI, model: AnthropicModel) -> None:
    api.add(bad_request("messages.0.content: text content blocks must be non-empty"))

    with pytest.raises(ModelBadRequest) as caught:
        ask(model)

    assert caught.value.status_code == 400
    assert caught.value.unprocessed
    assert caught.value.detail.startswith(
        "400 invalid_request_error: messages.0.content: text content blocks must be non-empty"
    )


def test_a_wrong_key_is_a_bad_request(api: MessagesAPI) -> None:
    with (
        AnthropicModel(MODEL, api_key="sk-wrong", base_url=api.url, max_retries=0) as model,
        pytest.raises(ModelBadRequest) as caught,
    ):
        ask(model)

    assert caught.value.status_code == 401
    assert "authentication_error" in caught.value.detail


@pytest.fixture
def no_credentials(monkeypatch, tmp_path) -> None:
    """An environment where the SDK finds no key, token, profile or identity token."""
    for name in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_PROFILE",
        "ANTHROPIC_CONFIG_DIR",
        "ANTHROPIC_IDENTITY_TOKEN",
        "ANTHROPIC_IDENTITY_TOKEN_FILE",
        "ANTHROPIC_FEDERATION_RULE_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))


@pytest.mark.usefixtures("no_credentials")
def test_no_key_at_all_is_a_bad_request(api: MessagesAPI) -> None:
    with AnthropicModel(MODEL, api_key=None, base_url=api.url, max_retries=0) as model:
        with pytest.raises(ModelBadRequest, match="no API key"):
            ask(model)
        with pytest.raises(ModelBadRequest, match="no API key"):
            model.count_tokens(SYSTEM, [Message.user("hi")], TOOLS)

    assert api.requests == []


@pytest.mark.usefixtures("no_credentials")
def test_a_missing_profile_is_a_bad_request(api: MessagesAPI, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ANTHROPIC_PROFILE", "nowhere")

    with (
        AnthropicModel(MODEL, api_key=None, base_url=api.url, max_retries=0) as model,
        pytest.raises(ModelBadRequest, match=r"no usable credentials: .*nowhere"),
    ):
        ask(model)

    assert api.requests == []


def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, now closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with (
        AnthropicModel(
            MODEL, api_key=KEY, base_url=f"http://127.0.0.1:{port}", max_retries=0, timeout=2
        ) as model,
        pytest.raises(ModelUnavailable, match="could not connect") as caught,
    ):
        ask(model)

    assert caught.value.status_code is None
    assert caught.value.attempts == 1


def test_base_url_defaults_to_the_environment(api: MessagesAPI, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
    api.add(Answer(text="from the environment"))

    with AnthropicModel(MODEL, api_key=KEY, max_retries=0) as model:
        assert ask(model).text == "from the environment"


def test_count_tokens(api: MessagesAPI, model: AnthropicModel) -> None:
    messages = [Message.user("How is order 1042?")]

    counted = model.count_tokens(SYSTEM, messages, TOOLS)

    sent = api.calls("/v1/messages/count_tokens")
    assert len(sent) == 1 and sent[0].body["model"] == MODEL
    assert counted > 20
    api.add(Answer(text="ok"))
    usage = model.complete(system=SYSTEM, messages=messages, tools=TOOLS).usage
    assert counted == usage.prompt_tokens  # the count is what the call is billed for
