"""The errors the runtime raises, one tree, each carrying what a person needs to act.

KeelError
├── InvalidInput            input refused before anything was written
│   ├── UnknownWorkflow
│   ├── ReasonRequired
│   ├── UnknownPerson       a name that is not a person in policy.toml
│   └── AlreadyInProgress   another unfinished run already acts on the same thing
├── NotFound
│   ├── UnknownRun
│   └── UnknownApproval
├── DecisionRefused         a decision that changed nothing
│   ├── NotAuthorised
│   ├── SelfApproval
│   ├── AlreadyDecided
│   └── AlreadyVoted        an approval toward a quorum, given twice
├── RunStateError           the run is not in a state that allows the request
├── PolicyError             a broken policy.toml (names the line and the key)
└── StepFailed              a step could not finish (routes the run to recovery)
    ├── EffectFailed
    ├── OutcomeUnknown      an effect may or may not have happened
    └── Cancelled           a person cancelled the run
"""

from __future__ import annotations

from typing import Any


class KeelError(Exception):
    """Base of every error the runtime raises on purpose."""

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def __str__(self) -> str:
        return self.message


class InvalidInput(KeelError):
    pass


class UnknownWorkflow(InvalidInput):
    pass


class ReasonRequired(InvalidInput):
    pass


class UnknownPerson(InvalidInput):
    pass


class AlreadyInProgress(InvalidInput):
    """A run that would act on what an unfinished run is acting on (a second refund of an
    order while the first waits for approval); `context["run_id"]` is the unfinished one."""


class NotFound(KeelError):
    pass


class UnknownRun(NotFound):
    pass


class UnknownApproval(NotFound):
    pass


class DecisionRefused(KeelError):
    pass


class NotAuthorised(DecisionRefused):
    pass


class SelfApproval(NotAuthorised):
    pass


class AlreadyDecided(DecisionRefused):
    def __init__(self, message: str, *, decided_by: str, status: str, **context: Any) -> None:
        super().__init__(message, decided_by=decided_by, status=status, **context)
        self.decided_by = decided_by
        self.status = status


class AlreadyVoted(DecisionRefused):
    """This person (or the authority they act for) already approved; `quorum - votes` remain."""

    def __init__(self, message: str, *, votes: int = 0, quorum: int = 0, **context: Any) -> None:
        super().__init__(message, votes=votes, quorum=quorum, **context)
        self.votes = votes
        self.quorum = quorum


class RunStateError(KeelError):
    pass


class PolicyError(KeelError):
    pass


class StepFailed(KeelError):
    """A step could not finish; the run goes to its failure path (compensate or escalate)."""

    def __init__(self, message: str, *, step: str | None = None, **context: Any) -> None:
        super().__init__(message, step=step, **context)
        self.step = step


class EffectFailed(StepFailed):
    pass


class OutcomeUnknown(StepFailed):
    pass


class Cancelled(StepFailed):
    pass
