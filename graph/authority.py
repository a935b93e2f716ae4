"""Who may decide an approval now: the one rule every door applies (policy, delegations,
the requester rule, votes already counted), needing nothing but the policy."""

from __future__ import annotations

from datetime import datetime

from .errors import AlreadyDecided, AlreadyVoted, DecisionRefused, NotAuthorised, SelfApproval
from .policy import Policy
from .records import Approval
from .statuses import ApprovalStatus


def already_decided(approval: Approval) -> AlreadyDecided:
    when = approval.decided_at.strftime("%Y-%m-%d %H:%M UTC") if approval.decided_at else ""
    return AlreadyDecided(
        f"approval {approval.id} was already {approval.status}"
        f" by {approval.decided_by} {when}".rstrip(),
        decided_by=approval.decided_by or "",
        status=str(approval.status),
    )


class Authority:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def standing(self, approval: Approval, actor: str, at: datetime) -> str | None:
        """Whom `actor` would decide for at `at`: None for themselves, else the person they
        stand in for by a delegation (their own roles come first).

        Raises AlreadyDecided, SelfApproval or NotAuthorised (not yet audited), or
        AlreadyVoted. A vote counts for its voter and for the person it was cast for, each
        once: a delegate and their delegator are one authority, and no one votes twice.
        """
        if approval.status is not ApprovalStatus.PENDING:
            raise already_decided(approval)
        request, requester = approval.request, approval.requested_by
        if actor == requester:
            raise SelfApproval(f"{actor} requested this and may not decide it")
        allowed = set(self.policy.approver_roles(request.workflow, request.policy_amount))
        acting = self.policy.acting_roles(actor, at)
        fors = list(dict.fromkeys(on for role, on in acting if role in allowed))
        if requester in fors:
            fors.remove(requester)
            if not fors:
                raise SelfApproval(
                    f"{actor} may decide this only for {requester}, who requested it"
                )
        if not fors:
            if not acting:
                raise NotAuthorised(f"{actor} has no role in policy that may approve anything")
            held = ", ".join(
                dict.fromkeys(role if on is None else f"{role} for {on}" for role, on in acting)
            )
            amount = f" of {request.amount:.2f} {request.currency}" if request.amount else ""
            raise NotAuthorised(
                f"{actor} ({held}) may not approve a {request.workflow}{amount};"
                f" roles that may: {', '.join(sorted(allowed)) or 'none'}"
            )
        counted = {v.by for v in approval.votes} | {v.on_behalf_of for v in approval.votes}
        free = [on for on in fors if (on or actor) not in counted]
        if actor not in counted and free:
            return free[0]
        mine = next((v for v in approval.votes if actor in (v.by, v.on_behalf_of)), None)
        if mine is not None:
            done = f"{mine.by} already approved {approval.id}" + (
                f" for {mine.on_behalf_of}" if mine.on_behalf_of else ""
            )
        else:
            done = (
                f"{actor} may approve {approval.id} only for {', '.join(map(str, fors))},"
                " whose approval is already counted"
            )
        count, need = len(approval.votes), approval.quorum - len(approval.votes)
        raise AlreadyVoted(
            f"{done}; {need} more approval{'s' if need != 1 else ''} needed"
            f" ({count} of {approval.quorum})",
            votes=count,
            quorum=approval.quorum,
        )

    def may(self, approval: Approval, actor: str, at: datetime) -> bool:
        try:
            self.standing(approval, actor, at)
        except DecisionRefused:
            return False
        return True
