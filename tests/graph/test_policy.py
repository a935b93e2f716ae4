"""policy.toml as typed rules: the shipped file, thresholds, approvers, errors naming the line."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from graph import Policy, PolicyError, load_policy, parse_policy

REPO_POLICY = Path(__file__).resolve().parents[2] / "policy.toml"

RULES = """\
currency = "USD"

[workflows.refund]
approval_threshold = "100.00"

[workflows.exchange]
approval_threshold = "0.00"

[roles.support]
approves = ["refund"]
limit = "250.00"

[roles.manager]
approves = ["refund", "exchange"]
limit = "2000.00"

[roles.owner]
approves = ["refund"]

[roles.clerk]
approves = ["exchange"]

[people]
sam = ["support"]
maria = ["manager"]
olivia = ["owner"]
ken = ["clerk", "support"]
cleo = []
"""


@pytest.fixture
def rules() -> Policy:
    return parse_policy(RULES)


def test_the_shipped_policy_loads() -> None:
    policy = load_policy(REPO_POLICY)

    refund = policy.workflow("refund")
    assert policy.currency == "USD"
    assert refund.approval_threshold == Decimal("100.00")
    assert refund.on_failure == "compensate"
    assert refund.budget.max_cost_usd == Decimal("0.50")
    assert refund.budget.max_tokens == 20000
    assert list(policy.roles) == ["support", "manager", "owner"]
    assert policy.roles["support"].limit == Decimal("250.00")
    assert policy.roles["owner"].limit is None
    assert policy.people == {
        "sam": ["support"],
        "maria": ["manager"],
        "olivia": ["owner"],
        "demo": [],
    }
    assert policy.escalation.deadline == timedelta(hours=4)
    assert policy.escalation.chain == ["manager", "owner"]
    assert policy.escalation.on_expiry == "reject"
    assert policy.escalation.on_call == "maria"
    assert policy.dangling() == []


@pytest.mark.parametrize(
    ("amount", "needed"),
    [
        ("0.01", False),
        ("99.99", False),
        ("100.00", False),  # exactly at the threshold: no approval
        ("100.01", True),  # one cent over
        ("5000.00", True),
    ],
)
def test_approval_is_needed_only_above_the_threshold(
    rules: Policy,
    amount: str,
    needed: bool,
) -> None:
    assert rules.needs_approval("refund", Decimal(amount)) is needed


def test_without_an_amount_or_a_threshold_approval_is_always_needed(rules: Policy) -> None:
    assert rules.needs_approval("refund", None) is True
    assert rules.needs_approval("price_change", Decimal("0.01")) is True  # no rules for it


@pytest.mark.parametrize(
    ("amount", "roles"),
    [
        ("100.01", ["support", "manager", "owner"]),
        ("250.00", ["support", "manager", "owner"]),  # a limit is inclusive
        ("250.01", ["manager", "owner"]),
        ("2000.00", ["manager", "owner"]),
        ("2000.01", ["owner"]),
        (None, ["support", "manager", "owner"]),
    ],
)
def test_approver_roles_respect_limits(rules: Policy, amount: str | None, roles: list[str]) -> None:
    assert rules.approver_roles("refund", None if amount is None else Decimal(amount)) == roles


def test_approver_roles_respect_which_workflows_a_role_approves(rules: Policy) -> None:
    assert rules.approver_roles("exchange", Decimal("10.00")) == ["manager", "clerk"]
    assert rules.approver_roles("price_change", Decimal("10.00")) == []


def test_people_and_roles_both_ways(rules: Policy) -> None:
    assert rules.roles_of("ken") == ["clerk", "support"]
    assert rules.roles_of("cleo") == []
    assert rules.roles_of("stranger") == []
    assert rules.people_in("support") == ["sam", "ken"]
    assert rules.people_in("owner") == ["olivia"]


def test_money_may_be_an_integer_but_not_a_float() -> None:
    assert parse_policy("[roles.a]\nlimit = 250\n").roles["a"].limit == Decimal(250)


# Each case: the policy text, the line the error must name, the dotted key, and words the
# message must contain. The line is also checked against the text so a case cannot drift.
ERRORS = {
    "float money": (
        "[workflows.refund]\napproval_threshold = 100.0\n",
        2,
        "workflows.refund.approval_threshold",
        'write money as a string, e.g. "100.00"',
    ),
    "float money in a later table with the same key": (
        '[roles.support]\nlimit = "250.00"\n\n[roles.manager]\nlimit = 2000.5\n',
        5,
        "roles.manager.limit",
        "write money as a string",
    ),
    "float money as a dotted key": (
        "[workflows.refund]\nbudget.max_cost_usd = 0.5\n",
        2,
        "workflows.refund.budget.max_cost_usd",
        "write money as a string",
    ),
    "money with three decimals": (
        '[roles.support]\napproves = ["refund"]\nlimit = "250.005"\n',
        3,
        "roles.support.limit",
        "2 decimal places",
    ),
    "negative money": (
        '[roles.support]\nlimit = "-1.00"\n',
        2,
        "roles.support.limit",
        "greater than or equal to 0",
    ),
    "a string where a number belongs": (
        'currency = "USD"\n[workflows.refund.budget]\nmax_tokens = "many"\n',
        3,
        "workflows.refund.budget.max_tokens",
        "valid integer",
    ),
    "a choice that is not offered": (
        '[workflows.refund]\n# on_failure = "escalate"\non_failure = "panic"\n',
        3,
        "workflows.refund.on_failure",
        "'compensate' or 'escalate'",
    ),
    "a string where a list belongs": (
        '[roles.support]\n\n[people]\nsam = "support"\n',
        4,
        "people.sam",
        "valid list",
    ),
    "unknown key": (
        'currency = "USD"\n\n[workflows.refund]\napproval_treshold = "100.00"\n',
        4,
        "workflows.refund.approval_treshold",
        "Extra inputs are not permitted",
    ),
    "unknown top-level key": (
        'currency = "USD"\ncurrencies = ["EUR"]\n',
        2,
        "currencies",
        "Extra inputs are not permitted",
    ),
    "undefined role in people": (
        '[roles.manager]\napproves = ["refund"]\n\n[people]\nsam = []\nmaria = ["manger"]\n',
        6,
        "people.maria",
        "names role 'manger', which is not defined",
    ),
    "undefined role in the escalation chain": (
        '[roles.manager]\n\n[escalation]\ndeadline = "4h"\nchain = ["manager", "boss"]\n',
        5,
        "escalation.chain",
        "names role 'boss', which is not defined",
    ),
    "on_call not in people": (
        '[people]\nmaria = []\n\n[escalation]\non_call = "bob"\n',
        5,
        "escalation.on_call",
        "names 'bob', who is not in [people]",
    ),
    "bad duration": (
        '[escalation]\nchain = []\ndeadline = "4 hours"\n',
        3,
        "escalation.deadline",
        'expected a duration as text, like "30m", "4h" or "2d"',
    ),
    "duration as a bare number": (
        "[escalation]\nchain = []\ndeadline = 4\n",
        3,
        "escalation.deadline",
        "expected a duration as text",
    ),
    "zero duration": (
        '[escalation]\nchain = []\ndeadline = "0h"\n',
        3,
        "escalation.deadline",
        "longer than zero",
    ),
    "bad expiry choice": (
        '[escalation]\non_expiry = "ignore"\n',
        2,
        "escalation.on_expiry",
        "'reject' or 'approve'",
    ),
}


@pytest.mark.parametrize(("text", "line", "key", "words"), ERRORS.values(), ids=ERRORS.keys())
def test_errors_name_the_line_and_the_key(text: str, line: int, key: str, words: str) -> None:
    assert key.rsplit(".", 1)[-1] in text.splitlines()[line - 1]  # the case itself is right

    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "rules.toml")

    assert str(caught.value).startswith(f"rules.toml: line {line}, key {key}: ")
    assert words in str(caught.value)
    assert caught.value.context == {"key": key, "line": line}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('currency = "USD"\n\n[roles.support]\nlimit = "250.00\n', 4),  # unterminated string
        (
            '[roles.support]\nlimit = "1.00"\napproves = []\nlimit = "2.00"\n',
            4,
        ),  # key written twice
        ('currency = "USD"\n[people\nsam = []\n', 2),  # unclosed header
    ],
)
def test_invalid_toml_names_the_line(text: str, line: int) -> None:
    with pytest.raises(PolicyError, match=rf"^rules\.toml: not valid TOML: .*\bline {line}\b"):
        parse_policy(text, "rules.toml")


def test_several_problems_say_how_many_more() -> None:
    text = '[workflows.refund]\napproval_threshold = 1.5\non_failure = "panic"\n'

    with pytest.raises(PolicyError, match=r"line 2, .*\(and 1 more\)$"):
        parse_policy(text)


def test_load_policy_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[people]\nsam = ["ghost"]\n')

    with pytest.raises(PolicyError) as caught:
        load_policy(path)

    assert str(caught.value) == (
        f"{path}: line 2, key people.sam: names role 'ghost', which is not defined"
    )


def test_missing_policy_file(tmp_path: Path) -> None:
    where = re.escape(str(tmp_path / "nope.toml"))
    with pytest.raises(PolicyError, match=rf"^{where}: policy file not found$"):
        load_policy(tmp_path / "nope.toml")


def test_policy_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_bytes(b'currency = "\xff"\n')

    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(path)


def test_misspelt_dotted_table_names_its_header_line() -> None:
    text = 'currency = "USD"\n\n[workflow.refund]\napproval_threshold = "100.00"\n'

    with pytest.raises(PolicyError, match=r"line 3, key workflow: Extra inputs"):
        parse_policy(text)


def test_slack_users_map_to_people_and_are_checked():
    text = '[people]\nmaria = []\n\n[slack.users]\nU0123ABCD = "maria"\n'
    policy = parse_policy(text)
    assert policy.slack.person("U0123ABCD") == "maria"
    assert policy.slack.user_id("maria") == "U0123ABCD"
    with pytest.raises(PolicyError, match=r"line 5, key slack.users.U0123ABCD: maps to 'bob'"):
        parse_policy(text.replace('"maria"\n', '"bob"\n'))
    with pytest.raises(PolicyError, match="is not a Slack user id"):
        parse_policy('[people]\nmaria = []\n[slack.users]\nmaria = "maria"\n')
