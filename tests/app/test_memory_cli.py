"""`keel memory search|forget|stats|reindex|sync` as a person runs them."""

from __future__ import annotations

from graph import Store

from .test_cli import SMALL, Keel, keel

__all__ = ["keel"]


def remembered_refund(keel: Keel) -> tuple[str, str]:
    """A finished refund written into memory; (run id, the customer's subject)."""
    run_id = keel.refund(SMALL)["run_id"]
    assert keel.show(run_id)["run"]["status"] == "succeeded"
    done = keel.json("memory", "sync")
    assert done["remembered"] >= 1 and done["profiles"] == 1
    [hit] = keel.json("memory", "search", str(SMALL), "--kind", "outcome")
    assert run_id in hit["text"] and hit["subject"].startswith("customer:")
    assert "words" in hit["found_by"]
    return run_id, hit["subject"]


def test_search_finds_a_finished_refund_by_its_order_id(keel):
    _run_id, subject = remembered_refund(keel)
    table = keel.ok("memory", "search", f"order {SMALL}").stdout
    assert subject in table and "outcome" in table
    stats = keel.json("memory", "stats")
    assert stats["items"] >= 1 and stats["by_kind"]["outcome"] == 1
    assert stats["embedder"] == "hashing-v1-384"
    assert "memories about" in keel.ok("memory", "stats").stdout
    assert keel.json("memory", "sync")["events"] == 0  # already up to date
    assert keel.ok("memory", "search", "zzzqqq nothing like it").stdout.startswith("Nothing")


def test_forget_needs_confirmation_then_erases_and_is_audited(keel):
    _run_id, subject = remembered_refund(keel)
    message = keel.fails(2, "memory", "forget", subject)
    assert "cannot be undone" in message and "--yes" in message
    assert keel.json("memory", "search", str(SMALL))  # nothing was erased
    gone = keel.json("memory", "forget", subject, "--yes", "--as", "maria")
    assert gone == {"subject": subject, "items": 1, "profiles": 1}
    assert all(h["subject"] != subject for h in keel.json("memory", "search", str(SMALL)))
    assert "nothing about" in keel.ok("memory", "forget", subject, "--yes").stdout
    store = Store.open(keel.home / "keel.db")
    try:
        [event, again] = store.events(kinds=["memory.forgotten"])
        assert event.actor == "maria" and event.data["items"] == 1
        assert subject.removeprefix("customer:") not in str(event.data)  # a digest, not the name
        assert again.data["items"] == 0
        assert store.verify().ok
    finally:
        store.close()


def test_chat_without_a_server_recalls_what_just_happened(keel):
    from tests.fakes import Answer, MessagesAPI

    run_id = keel.refund(SMALL)["run_id"]  # finished, but memory has not seen it yet
    with MessagesAPI(Answer(text="It was refunded.")) as fake:
        said = keel("chat", f"what happened with order {SMALL}?", "--as", "maria",
                    ANTHROPIC_API_KEY="sk-test", ANTHROPIC_BASE_URL=fake.url,
                    KEEL_MODEL_RETRIES="0")
    assert said.exit_code == 0, said.stderr
    system = "".join(block["text"] for block in fake.calls()[0].body["system"])
    assert "Long-term memory recalled" in system and run_id in system
