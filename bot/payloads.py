"""The parts of Slack's payloads the bot reads, checked before any handler sees them.

A signed request whose body is not what Slack documents is refused with 400 and an audit
event; handlers then read fields knowing they are there.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class User(_Loose):
    id: str = Field(min_length=1)


class Action(_Loose):
    action_id: str = Field(min_length=1)
    value: str = ""


class BlockActions(_Loose):
    type: str
    user: User
    actions: list[Action] = Field(min_length=1)
    trigger_id: str = ""
    channel: dict[str, Any] | None = None
    container: dict[str, Any] = Field(default_factory=dict)


class View(_Loose):
    callback_id: str
    private_metadata: str = ""
    state: dict[str, Any] = Field(default_factory=dict)


class ViewSubmission(_Loose):
    type: str
    user: User
    view: View


class Event(_Loose):
    type: str = Field(min_length=1)


class EventCallback(_Loose):
    type: str
    event_id: str = Field(min_length=1)
    event: Event


class SlashCommand(_Loose):
    command: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    channel_id: str = Field(min_length=1)
    text: str = ""


_SHAPES: dict[str, type[BaseModel]] = {
    "block_actions": BlockActions,
    "view_submission": ViewSubmission,
    "event_callback": EventCallback,
}


def problem(body: Any) -> str | None:
    """What is wrong with a parsed payload, or None when the bot can handle its shape."""
    if not isinstance(body, dict) or not body:
        return "empty or not an object"
    shape = SlashCommand if "command" in body else _SHAPES.get(str(body.get("type")))
    if shape is None:
        return None  # url_verification, view_closed …: Bolt answers or ignores them
    try:
        shape.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        return f"{body.get('type') or 'command'}: {where}: {err['msg']}"
    return None
