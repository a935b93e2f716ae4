"""Business rules as data: `policy.toml` loaded into typed models and checked before start.

Thresholds, who may approve what (and how many must), delegations while someone is away,
the escalation chain and budgets live here, outside any model or prompt. A broken file
stops start-up with a message naming the line and the key.
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from .errors import PolicyError, UnknownPerson

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError('expected a duration as text, like "30m", "4h" or "2d"')
    seconds = float(match[1]) * _UNITS[match[2]]
    if seconds <= 0:
        raise ValueError("a duration must be longer than zero")
    return timedelta(seconds=seconds)


def _money(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError('write money as a string, e.g. "100.00", so it is exact')
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError('a moment needs its time zone, e.g. "2026-11-20T09:00:00Z"')
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Moment = Annotated[datetime, AfterValidator(_aware)]
Money = Annotated[Decimal, BeforeValidator(_money), Field(ge=0, decimal_places=2)]
Rate = Annotated[Decimal, BeforeValidator(_money), Field(ge=0, decimal_places=6)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Budget(Strict):
    """Per-run limits on model use; past soft_limit the cheap model, past the limit a stop."""

    max_tokens: int = Field(default=50_000, gt=0)
    max_cost_usd: Money = Decimal("1.00")
    soft_limit: float = Field(default=0.8, gt=0, le=1)


class WorkflowPolicy(Strict):
    approval_threshold: Money | None = None
    """Amounts above this need a person's approval; absent means every run needs one."""
    on_failure: Literal["compensate", "escalate"] = "compensate"
    """When a later step fails: undo earlier effects, or keep them and open a reconciliation
    item."""
    budget: Budget = Budget()
    channel: str | None = None
    quorum: int = Field(default=1, ge=1)
    """How many different people must approve; one reject settles it (a veto)."""
    quorum_above: Money | None = None
    """The quorum applies only to amounts above this; absent means to every approval."""
    on_expiry: Literal["reject", "approve"] | None = None
    """At the end of the escalation chain; absent means [escalation] on_expiry."""


class Role(Strict):
    approves: list[str] = Field(default_factory=list)
    """Workflows this role may approve."""
    limit: Money | None = None
    """The largest amount this role may approve; absent means no limit."""


class Escalation(Strict):
    deadline: Duration = timedelta(hours=4)
    """How long an approval waits at each level of the chain."""
    chain: list[str] = Field(default_factory=list)
    """Roles asked in turn when an approval passes its deadline."""
    on_expiry: Literal["reject", "approve"] = "reject"
    on_call: str | None = None
    remind_before: Duration | None = None
    """Remind who may decide this long before each deadline; absent means no reminders."""


class Delegation(Strict):
    """While `from` is away (starts <= now < ends), `to` may decide what `from`'s roles allow.

    Not transitive: `to` acts with `from`'s own roles, not with delegations made to `from`.
    """

    model_config = ConfigDict(validate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    starts: Moment
    ends: Moment

    def active(self, at: datetime) -> bool:
        return self.starts <= at < self.ends


class ModelPrice(Strict):
    """USD per million tokens, each kind of token at its own price."""

    input: Rate
    output: Rate
    cache_write: Rate
    cache_read: Rate


class Models(Strict):
    strong: str = "claude-sonnet-5-5"
    """The model used while a budget is under its soft limit."""
    cheap: str = "claude-haiku-5-5"
    """The model used past the soft limit, and when the strong one is overloaded."""
    prices: dict[str, ModelPrice] = Field(
        default_factory=lambda: {
            "claude-sonnet-5-5": ModelPrice(
                input=Decimal("2.00"),
                output=Decimal("10.00"),
                cache_write=Decimal("2.50"),
                cache_read=Decimal("0.10"),
            ),
            "claude-haiku-5-5": ModelPrice(
                input=Decimal("0.10"),
                output=Decimal("0.50"),
                cache_write=Decimal("0.125"),
                cache_read=Decimal("0.01"),
            ),
        }
    )


class AssistantPolicy(Strict):
    budget: Budget = Budget(max_tokens=400_000, max_cost_usd=Decimal("2.00"))
    """Per conversation."""
    recent_turns: int = Field(default=8, ge=2, le=200)
    """Messages sent verbatim; older ones are compressed into the conversation's summary."""


class MemoryPolicy(Strict):
    recall_tokens: int = Field(default=600, ge=0, le=20_000)
    """How much recalled memory the assistant's prompt may carry per turn (0: none)."""
    recall_k: int = Field(default=6, ge=1, le=50)
    """At most this many memories per turn."""
    retention: dict[str, Duration] = Field(
        default_factory=lambda: {"conversation": timedelta(days=90), "outcome": timedelta(days=730)}
    )
    """Kind → how long its memories are kept; kinds not named are kept until forgotten."""
    fold_after: int = Field(default=40, ge=4, le=10_000)
    """A conversation's memories beyond this many are folded into a summary."""


class SlackPolicy(Strict):
    users: dict[str, str] = Field(default_factory=dict)
    """Slack user id (U…/W…) → the person in [people] whose roles it carries."""
    channel: str | None = None
    """Where runs get their thread when the workflow names no channel."""

    def person(self, user_id: str) -> str | None:
        return self.users.get(user_id)

    def user_id(self, person: str) -> str | None:
        return next((uid for uid, name in self.users.items() if name == person), None)


class Policy(Strict):
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    workflows: dict[str, WorkflowPolicy] = Field(default_factory=dict)
    roles: dict[str, Role] = Field(default_factory=dict)
    people: dict[str, list[str]] = Field(default_factory=dict)
    """Person → roles. A person with no entry may start work but approve nothing."""
    escalation: Escalation = Escalation()
    models: Models = Models()
    assistant: AssistantPolicy = AssistantPolicy()
    slack: SlackPolicy = SlackPolicy()
    memory: MemoryPolicy = MemoryPolicy()
    delegations: list[Delegation] = Field(default_factory=list)

    def dangling(self) -> list[tuple[tuple[str, ...], str]]:
        """References to undefined roles or people, and rules that cannot hold, as (key path,
        message)."""
        problems: list[tuple[tuple[str, ...], str]] = []
        for person, roles in self.people.items():
            problems += [
                (("people", person), f"names role {role!r}, which is not defined")
                for role in roles
                if role not in self.roles
            ]
        problems += [
            (("escalation", "chain"), f"names role {role!r}, which is not defined")
            for role in self.escalation.chain
            if role not in self.roles
        ]
        problems += [
            (("models", which), f"has no entry in [models.prices] for {name!r}")
            for which, name in (("strong", self.models.strong), ("cheap", self.models.cheap))
            if name not in self.models.prices
        ]
        for user_id, person in self.slack.users.items():
            if not re.fullmatch(r"[UW][A-Z0-9]{2,20}", user_id):
                problems.append((("slack", "users", user_id), "is not a Slack user id (U… or W…)"))
            elif person not in self.people:
                problems.append(
                    (("slack", "users", user_id), f"maps to {person!r}, who is not in [people]")
                )
        if self.escalation.on_call and self.escalation.on_call not in self.people:
            problems.append(
                (
                    ("escalation", "on_call"),
                    f"names {self.escalation.on_call!r}, who is not in [people]",
                )
            )
        remind = self.escalation.remind_before
        if remind is not None and remind >= self.escalation.deadline:
            problems.append(
                (
                    ("escalation", "remind_before"),
                    "must be shorter than the deadline, or the reminder comes too late",
                )
            )
        for name, wf in self.workflows.items():
            able = [
                p
                for p, roles in self.people.items()
                if any(name in self.roles[r].approves for r in roles if r in self.roles)
            ]
            if wf.quorum > 1 and len(able) < wf.quorum:
                message = (
                    f"asks for {wf.quorum} approvers, but only {len(able)} people may"
                    f" approve a {name}: {', '.join(able) or 'nobody'}"
                )
                problems.append((("workflows", name, "quorum"), message))
        for index, d in enumerate(self.delegations):
            at = ("delegations", str(index))
            problems += [
                ((*at, key), f"names {who!r}, who is not in [people]")
                for key, who in (("from", d.from_), ("to", d.to))
                if who not in self.people
            ]
            if d.to == d.from_:
                problems.append(((*at, "to"), "is the same person as from"))
            if d.ends <= d.starts:
                problems.append(((*at, "ends"), "must be later than starts"))
        return problems

    def workflow(self, name: str) -> WorkflowPolicy:
        return self.workflows.get(name, WorkflowPolicy())

    def needs_approval(self, workflow: str, amount: Decimal | None) -> bool:
        threshold = self.workflow(workflow).approval_threshold
        return threshold is None or amount is None or amount > threshold

    def approver_roles(self, workflow: str, amount: Decimal | None) -> list[str]:
        """Roles that may approve this workflow at this amount, in definition order."""
        return [
            name
            for name, role in self.roles.items()
            if workflow in role.approves
            and (role.limit is None or amount is None or amount <= role.limit)
        ]

    def known_person(self, name: str) -> str:
        """`name`, when [people] names that person; UnknownPerson listing who exists otherwise."""
        if name in self.people:
            return name
        raise UnknownPerson(
            f"{name!r} is not a person in policy.toml; [people] names"
            f" {', '.join(sorted(self.people)) or 'nobody'}",
            person=name,
        )

    def roles_of(self, person: str) -> list[str]:
        return self.people.get(person, [])

    def people_in(self, role: str) -> list[str]:
        return [person for person, roles in self.people.items() if role in roles]

    def quorum(self, workflow: str, amount: Decimal | None) -> int:
        """How many different people must approve this workflow at this amount."""
        wf = self.workflow(workflow)
        above = wf.quorum_above
        return wf.quorum if above is None or amount is None or amount > above else 1

    def expiry(self, workflow: str) -> Literal["reject", "approve"]:
        """What an approval of this workflow becomes at the end of the escalation chain."""
        return self.workflow(workflow).on_expiry or self.escalation.on_expiry

    def delegations_active(self, at: datetime) -> list[Delegation]:
        return [d for d in self.delegations if d.active(at)]

    def acting_roles(self, person: str, at: datetime) -> list[tuple[str, str | None]]:
        """(role, on behalf of) pairs `person` may act in at `at`: their own roles (None)
        first, then the roles of each person who delegated to them."""
        acting: list[tuple[str, str | None]] = [(role, None) for role in self.roles_of(person)]
        for d in self.delegations_active(at):
            if d.to == person:
                acting += [(role, d.from_) for role in self.roles_of(d.from_)]
        return acting

    def with_delegates(self, people: list[str], at: datetime) -> list[str]:
        """`people` and, after them, whoever decides for any of them at `at`."""
        stand_ins = [d.to for d in self.delegations_active(at) if d.from_ in people]
        return list(dict.fromkeys(people + stand_ins))


def load_policy(path: str | Path) -> Policy:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{path}: policy file not found") from None
    except OSError as exc:
        raise PolicyError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not UTF-8 text") from None
    return parse_policy(text, str(path))


def parse_policy(text: str, source: str = "policy.toml") -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from None
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        _refuse(
            text,
            source,
            tuple(str(p) for p in err["loc"]),
            err["msg"].removeprefix("Value error, ") + more,
        )
    for loc, message in policy.dangling()[:1]:
        _refuse(text, source, loc, message)
    return policy


def _refuse(text: str, source: str, loc: tuple[str, ...], message: str) -> NoReturn:
    key = ".".join(loc) or "(top level)"
    line = key_line(text, loc)
    where = f"line {line}, " if line else ""
    raise PolicyError(f"{source}: {where}key {key}: {message}", key=key, line=line)


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\"' -]+?)\s*=")


def _split(dotted: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in dotted.split("."))


def key_line(text: str, loc: tuple[str, ...]) -> int | None:
    """The 1-based line that best matches a key path: the key itself, else its table.

    A line matches when its path and `loc` agree as far as the shorter goes (so
    `[workflow.refund]` is where an unknown `workflow` table is written); the deepest
    match wins, the first line among equals. The n-th `[[name]]` header is `name.n`.
    """
    best: tuple[int, int] | None = None  # (matched depth, line)
    table: tuple[str, ...] = ()
    arrays: dict[tuple[str, ...], int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if header := _HEADER.match(line):
            table = _split(header[1])
            if line.lstrip().startswith("[["):
                arrays[table] = arrays.get(table, -1) + 1
                table += (str(arrays[table]),)
            path = table
        elif key := _KEY.match(line):
            path = table + _split(key[1])
        else:
            continue
        depth = 0
        for a, b in zip(path, loc, strict=False):
            if a != b:
                break
            depth += 1
        if depth and depth in (len(path), len(loc)) and (best is None or depth > best[0]):
            best = (depth, number)
    return best[1] if best else None
