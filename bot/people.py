"""Who a Slack user is in policy, and how a person is shown in Slack."""

from __future__ import annotations

from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from graph import Approval, KeelError, Policy
from graph.policy import Delegation

from .blocks import escape

UNMAPPED_PREFIX = "slack:"


class SlackSetupError(KeelError):
    """The Slack side of the configuration cannot work; the message says what to change."""


class People:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def person(self, user_id: str) -> str:
        """The policy person a Slack user is; unmapped users are `slack:U…` and hold no role."""
        return self.policy.slack.person(user_id) or f"{UNMAPPED_PREFIX}{user_id}"

    def user_id(self, person: str) -> str | None:
        if person.startswith(UNMAPPED_PREFIX):
            return person.removeprefix(UNMAPPED_PREFIX)
        return self.policy.slack.user_id(person)

    def mention(self, person: str) -> str:
        """`<@U…>` for someone Slack knows, else the name as plain text."""
        user_id = self.user_id(person)
        return f"<@{user_id}>" if user_id else escape(person)

    def standins(self, approval: Approval, at: datetime) -> list[Delegation]:
        """Delegations in force at `at` for people whose roles may decide `approval`."""
        allowed = set(approval.request.approver_roles)
        return [
            d
            for d in self.policy.delegations_active(at)
            if allowed & set(self.policy.roles_of(d.from_))
        ]

    def check(self, client: WebClient) -> None:
        """Every user id in policy's [slack.users] must exist in the workspace and be a person."""
        for user_id, person in self.policy.slack.users.items():
            try:
                user = client.users_info(user=user_id)["user"]
            except SlackApiError as exc:
                error = exc.response.get("error", "unknown error")
                raise SlackSetupError(
                    f"policy [slack.users] {user_id} = {person!r}: Slack says {error}"
                    " (is the id from this workspace?)"
                ) from None
            if user.get("deleted") or user.get("is_bot"):
                kind = "deactivated" if user.get("deleted") else "a bot"
                raise SlackSetupError(
                    f"policy [slack.users] {user_id} = {person!r}: that Slack user is {kind}"
                )
