"""`keel memory search|forget|stats|reindex|sync` as a person runs them."""

from __future__ import annotations

from graph import Store

from .conftest import Keel
from .test_cli import SMALL, SMALL_2


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
        said = keel(
            "chat",
            f"what happened with order {SMALL}?",
            "--as",
            "maria",
            ANTHROPIC_API_KEY="sk-test",
            ANTHROPIC_BASE_URL=fake.url,
            KEEL_MODEL_RETRIES="0",
        )
    assert said.exit_code == 0, said.stderr
    system = "".join(block["text"] for block in fake.calls()[0].body["system"])
    assert "Long-term memory recalled" in system and run_id in system


def test_a_new_embedding_dimension_stops_commands_until_memory_is_reindexed(keel):
    _run_id, subject = remembered_refund(keel)
    keel.env["KEEL_EMBEDDINGS_DIM"] = "256"
    for command in (["memory", "search", str(SMALL)], ["chat", "what waits on me?"]):
        message = keel.fails(2, *command)
        assert "hashing-v1-384" in message and "hashing-v1-256" in message
        assert "keel memory reindex" in message
    assert len(keel.runs()) == 1  # reading runs needs no memory
    done = keel.json("memory", "reindex")
    assert done == {"items": done["items"], "embedder": "hashing-v1-256", "was": "hashing-v1-384"}
    assert done["items"] >= 1
    [hit] = keel.json("memory", "search", str(SMALL), "--kind", "outcome")
    assert hit["subject"] == subject and "meaning" in hit["found_by"]
    assert keel.json("memory", "stats")["embedder"] == "hashing-v1-256"


def test_a_hosted_embedder_is_configured_by_settings_and_an_outage_loses_nothing(keel):
    from tests.fakes.embeddings_api import EmbeddingsAPI, overloaded

    with EmbeddingsAPI(api_key="pa-test") as api:
        keel.env.update(
            KEEL_EMBEDDINGS_URL=api.endpoint,
            KEEL_EMBEDDINGS_API_KEY="pa-test",
            KEEL_EMBEDDINGS_DIM="512",
            KEEL_RETRY_ATTEMPTS="1",
        )
        _run_id, subject = remembered_refund(keel)
        assert api.requests and {r.body["output_dimension"] for r in api.requests} == {512}
        assert keel.json("memory", "stats")["embedder"] == "hosted:voyage-3.5-lite:512"
        [hit] = keel.json("memory", "search", "refund", "--kind", "outcome")
        assert hit["found_by"] == "meaning+words"
        api.add(overloaded())  # the API down: search goes on by words
        [hit] = keel.json("memory", "search", "refund", "--kind", "outcome")
        assert hit["subject"] == subject and hit["found_by"] == "words"
        keel.refund(SMALL_2)
        api.add(overloaded())  # and what cannot be embedded now is written on the next sync
        message = keel.fails(5, "memory", "sync")
        assert "hosted:voyage-3.5-lite:512" in message and "503" in message
        assert keel.json("memory", "sync")["remembered"] >= 1
    keel.env["KEEL_EMBEDDINGS_DIM"] = "384"
    assert "Voyage's models make 256, 512, 1024, 2048" in keel.fails(2, "memory", "stats")
