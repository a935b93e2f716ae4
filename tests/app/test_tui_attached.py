"""The terminal app attached to `keel serve` in another process: a decision goes through
the server's inbox, is applied exactly once, and survives the server restarting meanwhile."""

from __future__ import annotations

import pytest

from connectors.offline import OfflineModel
from graph import KeelError, RunStatus
from graph.assistant import Assistant
from graph.router import Router
from memory import HashingEmbedder
from tui import Desk

from ..reliability.test_crash import finished, setup, wait_until
from ..support import counts, orders

__all__ = ["setup"]  # the crash tests' fixture: `keel serve` as a child process, and a client


def test_a_decision_made_while_the_server_restarts_is_applied_once(
    setup, sandbox, services
) -> None:
    server, client = setup
    client.router = Router(
        store=client.store,
        clock=client.clock,
        models=client.policy.models,
        offline=OfflineModel(HashingEmbedder()),
    )
    desk = Desk(
        client,
        user="maria",
        assistant=Assistant(client, client.router, execute=False),
        attached=True,
        inbox_wait=0.5,
    )
    order = orders(services.shop, over="100.00", under="2000.00")[0]
    server.start()
    run = client.start("refund", {"order_id": order.id, "reason": "dented"}, "sam", execute=False)
    wait_until(lambda: client.get(run.id).run.status is RunStatus.WAITING, server)
    [approval] = client.get(run.id).approvals

    server.stop()  # the server goes away; the person at the terminal decides anyway
    with pytest.raises(KeelError, match="stays queued in the inbox"):
        desk.decide(approval.id, "approve")
    assert client.get(run.id).run.status is RunStatus.WAITING
    server.start()  # back: it finds the decision in its inbox
    wait_until(lambda: finished(client.store, run.id), server)

    with pytest.raises(KeelError, match="already approved by maria"):
        desk.decide(approval.id, "approve")  # a second press learns it is done
    server.stop()
    desk.close()

    assert client.get(run.id).run.status is RunStatus.SUCCEEDED
    decided = [e for e in client.events(run.id) if e.kind == "approval.decided"]
    assert [(e.actor, e.data["decision"]) for e in decided] == [("maria", "approved")]
    assert counts(sandbox, order.id) == {"refund": 1, "restock": 1, "email": 1}
