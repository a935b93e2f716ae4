"""The `keel` command line: start and inspect runs, decide approvals, run the server.

Every command takes `--json` for machine-readable output. Errors print one clear line
and exit non-zero: 2 bad input or configuration, 3 not found, 4 refused, 5 a service
unreachable, 6 the audit chain is broken.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from graph import KeelError, RunStatus

from . import render
from .home import keep_private, opening
from .lock import HomeLock
from .output import JsonUsage, emit, errors, fail

if TYPE_CHECKING:
    from graph import Policy, Reads, Runtime

    from .settings import Settings

# What drives runs (LangGraph, the connectors, the model clients, Textual) is imported by
# the commands that need it, so `--help` and the read-only commands start in moments.


cli = typer.Typer(
    cls=JsonUsage,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Keel: business processes as durable state machines, with people in the loop.",
)
start_cli = typer.Typer(no_args_is_help=True, help="Start a workflow run.")
sandbox_cli = typer.Typer(invoke_without_command=True, help="The local store and mail sandbox.")
audit_cli = typer.Typer(no_args_is_help=True, help="Check the event log.")
memory_cli = typer.Typer(
    no_args_is_help=True, help="Long-term memory: search, forget a person, stats, reindex."
)
cli.add_typer(start_cli, name="start")
cli.add_typer(memory_cli, name="memory")
cli.add_typer(sandbox_cli, name="sandbox")
cli.add_typer(audit_cli, name="audit")

Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
As = Annotated[
    str | None,
    typer.Option(
        "--as", help="Who you are: a person in policy.toml (default: KEEL_USER, your login name)."
    ),
]
HttpPort = Annotated[
    int | None,
    typer.Option(
        "--http",
        min=1,
        max=65535,
        metavar="PORT",
        help="Slack HTTP mode: serve /slack/events on PORT (default 3000; ignored in Socket Mode).",
    ),
]
HttpHost = Annotated[str, typer.Option("--http-host", help="Address for Slack HTTP mode.")]


def _settings() -> Settings:
    """Settings, with a warning per settings or policy file that others can read."""
    from .home import exposure_warnings
    from .settings import load_settings

    settings = load_settings()
    for warning in exposure_warnings(settings):
        typer.echo(f"warning: {warning}", err=True)
    return settings


def _who(settings: Settings, policy: Policy, actor: str | None) -> str:
    """The person acting: `--as`, else KEEL_USER; refused unless policy names them."""
    return policy.known_person(actor or settings.user)


@contextmanager
def _runtime(as_json: bool) -> Iterator[tuple[Settings, Runtime, bool]]:
    """Settings, a runtime over the home folder, and whether a server is driving runs.

    Unless a server holds the home folder, the command holds it shared while it runs, so
    a server starting meanwhile waits for it rather than driving the same runs.
    """
    from .wiring import load_rules, open_runtime

    with errors(as_json):
        settings = _settings()
        policy = load_rules(settings)  # a broken policy stops the command before it writes
        with opening(settings.home):
            runtime = open_runtime(settings, policy=policy)
    lock = HomeLock(settings.home, exclusive=False)
    try:
        with errors(as_json):
            served = not lock.acquire(block=False)
            yield settings, runtime, served
    finally:
        lock.release()
        runtime.close()
        runtime.services.close()


@contextmanager
def _reading(as_json: bool) -> Iterator[tuple[Settings, Reads]]:
    """Settings and the run store's reads, without opening what drives runs."""
    from .wiring import load_rules, open_reads

    with errors(as_json):
        settings = _settings()
        policy = load_rules(settings)
        with opening(settings.home):
            reads = open_reads(settings, policy)
    try:
        with errors(as_json):
            yield settings, reads
    finally:
        reads.store.close()


# --- starting work ------------------------------------------------------------------------


@start_cli.command("refund")
def start_refund(
    order: Annotated[int, typer.Option("--order", help="The order id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, in a sentence.")],
    amount: Annotated[
        str | None, typer.Option(help="Default: all that is still refundable.")
    ] = None,
    restock: Annotated[
        bool | None, typer.Option("--restock/--no-restock", help="Default: yes for a full refund.")
    ] = None,
    actor: As = None,
    as_json: Json = False,
) -> None:
    """Refund an order (over the policy threshold it waits for approval)."""
    data: dict[str, Any] = {"order_id": order, "reason": reason}
    if amount is not None:
        data["amount"] = amount
    if restock is not None:
        data["restock"] = restock
    with _runtime(as_json) as (settings, runtime, served):
        who = _who(settings, runtime.policy, actor)
        if served:
            run = runtime.start("refund", data, who, origin="cli", execute=False)
            note = "queued; the running server will drive it"
        else:
            run = runtime.start("refund", data, who, origin="cli")
            note = str(run.status)
        detail = runtime.get(run.id)
        pending = detail.pending
        text = f"{run.id}\n{note}"
        if pending:
            text += f": waiting for approval {pending.id}\n  keel approve {pending.id} --as USER"
        elif run.error:
            text += f": {run.error}"
        emit(
            as_json,
            {
                "run_id": run.id,
                "status": str(detail.run.status),
                "approval_id": pending.id if pending else None,
            },
            text,
        )


# --- reading ------------------------------------------------------------------------------


@cli.command()
def runs(
    status: Annotated[
        list[RunStatus] | None, typer.Option(help="Only runs in this status.")
    ] = None,
    workflow: Annotated[str | None, typer.Option(help="Only this workflow.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: Json = False,
) -> None:
    """List runs, newest first."""
    with _reading(as_json) as (_settings, reads):
        found = reads.runs(status=status, workflow=workflow, limit=limit)
        emit(as_json, [r.model_dump(mode="json") for r in found], render.run_table(found))


@cli.command()
def show(run_id: str, as_json: Json = False) -> None:
    """A run's status, steps, events, effects and pending approval."""
    with _reading(as_json) as (_settings, reads):
        detail = reads.get(run_id)
        events = reads.events(run_id)
        emit(
            as_json,
            {
                "run": detail.run.model_dump(mode="json"),
                "pending_approval": detail.pending.model_dump(mode="json")
                if detail.pending
                else None,
                "approvals": [a.model_dump(mode="json") for a in detail.approvals],
                "effects": [e.model_dump(mode="json") for e in detail.effects],
                "reconciliations": [r.model_dump(mode="json") for r in detail.reconciliations],
                "events": [e.model_dump(mode="json") for e in events],
            },
            render.run_detail(detail, events),
        )


@cli.command()
def pending(actor: As = None, as_json: Json = False) -> None:
    """What waits on you: approvals you may decide."""
    with _reading(as_json) as (settings, reads):
        who = _who(settings, reads.authority.policy, actor)
        waiting = reads.pending_approvals(who)
        text = "\n\n".join(render.approval_text(a) for a in waiting) or f"Nothing waits on {who}."
        emit(as_json, [a.model_dump(mode="json") for a in waiting], text)


# --- deciding -----------------------------------------------------------------------------


def _decide(
    approval_id: str, verdict: str, actor: str | None, reason: str | None, as_json: bool
) -> None:
    from graph.inbox import through_inbox

    with _runtime(as_json) as (settings, runtime, served):
        who = _who(settings, runtime.policy, actor)
        if served:
            result = through_inbox(
                runtime,
                "decide",
                {"approval_id": approval_id, "decision": verdict, "actor": who, "reason": reason},
                who,
            )
        else:
            approval = runtime.decide(approval_id, verdict, who, reason)  # type: ignore[arg-type]
            result = {
                "approval_id": approval.id,
                "status": str(approval.status),
                "run_id": approval.run_id,
            }
        run = runtime.get(result["run_id"]).run
        result["run_status"] = str(run.status)
        emit(
            as_json,
            result,
            f"{approval_id} {result['status']} by {who}; run {run.id} is"
            f" {run.status}" + (" (the server is driving it)" if served else ""),
        )


@cli.command()
def approve(approval_id: str, actor: As = None, as_json: Json = False) -> None:
    """Approve a pending approval."""
    _decide(approval_id, "approve", actor, None, as_json)


@cli.command()
def reject(
    approval_id: str,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded and shown).")],
    actor: As = None,
    as_json: Json = False,
) -> None:
    """Reject a pending approval, with a reason."""
    _decide(approval_id, "reject", actor, reason, as_json)


@cli.command()
def cancel(
    run_id: str,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    actor: As = None,
    as_json: Json = False,
) -> None:
    """Cancel a run; effects already done are compensated."""
    from graph.inbox import through_inbox

    with _runtime(as_json) as (settings, runtime, served):
        who = _who(settings, runtime.policy, actor)
        if served:
            result = through_inbox(
                runtime, "cancel", {"run_id": run_id, "actor": who, "reason": reason}, who
            )
        else:
            run = runtime.cancel(run_id, who, reason)
            result = {"run_id": run.id, "status": str(run.status)}
        # A run driven elsewhere (the server) stops later; its status now is not the outcome.
        text = (
            f"{run_id} {result['status']}"
            if RunStatus(result["status"]).terminal
            else f"{run_id} cancel requested; it stops at its next step"
        )
        emit(as_json, result, text)


# --- the assistant ------------------------------------------------------------------------


@cli.command()
def chat(
    message: Annotated[str, typer.Argument(help="What you want, in your own words.")],
    conversation: Annotated[
        str | None, typer.Option(help="Continue this conversation (default: your own, per user).")
    ] = None,
    actor: As = None,
    as_json: Json = False,
) -> None:
    """One turn of the assistant (the same one Slack and the terminal app use)."""
    from .wiring import build_assistant, build_keeper

    with _runtime(as_json) as (settings, runtime, served):
        who = _who(settings, runtime.policy, actor)
        conversation_id = conversation or f"conv_cli_{who}"
        if not served:  # no server keeps memory up to date: bring it up to now first
            build_keeper(runtime).sync()
        # With a server running, what the assistant starts or decides is left for it to drive.
        assistant = build_assistant(runtime, execute=not served)
        echo = None if as_json else _Echo()
        result = assistant.turn(conversation_id, who, message, origin="cli", on_text=echo)
        if echo is not None and echo.finish(result.text):
            return  # the reply was printed as it was written
        emit(
            as_json,
            {
                "conversation": result.conversation,
                "reply": result.text,
                "offline": result.offline,
                "tools_called": result.tools_called,
            },
            result.text,
        )


class _Echo:
    """Prints a reply as the model writes it. Each model call starts its text afresh (a
    tool round, a fallback): what was printed is then left on its own line."""

    def __init__(self) -> None:
        self.printed = ""

    def __call__(self, so_far: str) -> None:
        if not so_far.startswith(self.printed):
            typer.echo("")
            self.printed = ""
        typer.echo(so_far[len(self.printed) :], nl=False)
        self.printed = so_far

    def finish(self, reply: str) -> bool:
        """End the streamed reply; False when nothing streamed or it was not the reply."""
        if not self.printed:
            return False
        if self.printed != reply:
            typer.echo("")
            self.printed = ""
            return False
        typer.echo("")
        return True


# --- audit --------------------------------------------------------------------------------


@audit_cli.command("verify")
def audit_verify(as_json: Json = False) -> None:
    """Check the event log's hash chain; name the first broken link."""
    with _reading(as_json) as (_settings, reads):
        report = reads.verify()
        data = {
            "ok": report.ok,
            "checked": report.checked,
            "broken_event_id": report.broken_at,
            "run_id": report.run_id,
            "seq": report.seq,
            "problem": report.problem,
        }
        if report.ok:
            emit(as_json, data, f"ok: {report.checked} events, chain intact")
            return
        emit(
            as_json,
            data,
            f"BROKEN at event {report.broken_at} (run {report.run_id},"
            f" seq {report.seq}): {report.problem}; {report.checked} events"
            " before it are intact",
        )
        raise typer.Exit(6)


# --- memory -------------------------------------------------------------------------------


@memory_cli.command("search")
def memory_search(
    query: str,
    subject: Annotated[
        str | None, typer.Option(help="Only about this subject, e.g. customer:ada@example.com.")
    ] = None,
    kind: Annotated[list[str] | None, typer.Option(help="Only these kinds (repeatable).")] = None,
    limit: Annotated[int, typer.Option("--limit", "-k", min=1, max=100)] = 10,
    as_json: Json = False,
) -> None:
    """Find memories by meaning and by exact words (ids, SKUs, names)."""
    with _runtime(as_json) as (_settings, runtime, _served):
        assert runtime.memory is not None
        hits = runtime.memory.recall(query, subject=subject, kinds=kind or None, k=limit)
        emit(
            as_json, [render.memory_hit_data(hit) for hit in hits], render.memory_hits(query, hits)
        )


@memory_cli.command("forget")
def memory_forget(
    subject: str,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
    actor: As = None,
    as_json: Json = False,
) -> None:
    """Erase everything memory holds about a subject (a person's right to be forgotten)."""
    from .settings import SettingsError

    if not yes:
        fail(
            as_json,
            SettingsError(
                f"forgetting {subject} erases every memory and profile about them and cannot be"
                " undone; run again with --yes"
            ),
            2,
        )
    with _runtime(as_json) as (settings, runtime, _served):
        assert runtime.memory is not None
        gone = runtime.memory.forget(subject, by=_who(settings, runtime.policy, actor))
        emit(
            as_json,
            {"subject": subject, "items": gone.items, "profiles": gone.profiles},
            f"Forgot {subject}: {gone.items} memories and {gone.profiles} profile(s) erased"
            " from every table; the event log records the erasure by digest."
            if gone.items or gone.profiles
            else f"Memory holds nothing about {subject}.",
        )


@memory_cli.command("stats")
def memory_stats_command(as_json: Json = False) -> None:
    """What memory holds: items by kind, subjects, summaries, expired, file size."""
    from .wiring import open_memory

    with errors(as_json):
        settings = _settings()
        with opening(settings.home), open_memory(settings, embedder=None) as memory:
            stats = memory.stats()
    emit(as_json, stats.__dict__, render.memory_stats(stats))


@memory_cli.command("reindex")
def memory_reindex(as_json: Json = False) -> None:
    """Rebuild every vector with the configured embedder (after changing model or size)."""
    from .wiring import build_embedder, open_memory

    with errors(as_json):
        settings = _settings()
        embedder = build_embedder(settings)
        with opening(settings.home), open_memory(settings, embedder=None) as memory:
            before = memory.indexed_with[0]
            count = memory.reindex(embedder)
    emit(
        as_json,
        {"items": count, "embedder": embedder.name, "was": before},
        f"Re-embedded {count} memories with {embedder.name} (was {before or 'none'}).",
    )


@memory_cli.command("sync")
def memory_sync(as_json: Json = False) -> None:
    """Write what the event log holds into memory now (a server does this every 10 s)."""
    from .wiring import build_keeper

    with _runtime(as_json) as (_settings, runtime, _served):
        done = build_keeper(runtime).sync()
        emit(
            as_json,
            done.__dict__,
            f"{done.events} events read: {done.remembered}"
            f" memories, {done.profiles} profiles,"
            f" {done.folded} folded into summaries.",
        )


# --- processes ----------------------------------------------------------------------------


@cli.command()
def serve(
    workers: Annotated[int | None, typer.Option(min=1, max=64)] = None,
    quiet: Annotated[bool, typer.Option(help="Do not print events as they happen.")] = False,
    http: HttpPort = None,
    http_host: HttpHost = "127.0.0.1",
) -> None:
    """The headless worker: drives runs, applies inbox commands, escalates deadlines, and
    runs the Slack bot when SLACK_BOT_TOKEN is set."""
    from .server import run_server

    with errors(False):
        settings = _settings()
        run_server(
            settings,
            workers=workers,
            sandbox=False,
            demo="off",
            live_log=not quiet,
            http_port=http,
            http_host=http_host,
        )


@cli.command()
def up(
    demo: Annotated[
        bool | None,
        typer.Option(
            "--demo/--no-demo",
            help="Play a small shop's day on the sandbox this starts (default:"
            " KEEL_DEMO; never on a store Keel did not start).",
        ),
    ] = None,
    headless: Annotated[
        bool, typer.Option(help="A live event log instead of the terminal app.")
    ] = False,
    actor: As = None,
    http: HttpPort = None,
    http_host: HttpHost = "127.0.0.1",
) -> None:
    """The main job: sandbox (on the default store URL), worker, scheduler, the Slack bot when
    SLACK_BOT_TOKEN is set, and the terminal app in front (or a live log without a terminal)."""
    from functools import partial

    from .server import DemoMode, run_server
    from .terminal import embedded, has_terminal
    from .wiring import load_rules

    with errors(False):
        settings = _settings()
        front = not headless and has_terminal()
        if front or actor:  # the terminal app acts as someone; a named person must exist
            who = _who(settings, load_rules(settings), actor)
            settings = settings.model_copy(update={"user": who})
        if demo is None:  # asked for in the environment, or the default: on where it may play
            explicit = "demo" in settings.model_fields_set
            mode: DemoMode = ("on" if settings.demo else "off") if explicit else "auto"
        else:
            mode = "on" if demo else "off"
        foreground = None
        if front:
            foreground = partial(embedded, settings)
        elif not headless:
            print(
                "keel: no terminal here (CI or a pipe), so no terminal app: running headless"
                " with a live event log.",
                flush=True,
            )
        run_server(
            settings,
            sandbox=settings.uses_sandbox,
            demo=mode,
            live_log=True,
            http_port=http,
            http_host=http_host,
            foreground=foreground,
        )


@cli.command()
def tui(actor: As = None) -> None:
    """The terminal app beside a running `keel serve` / `keel up` (decisions go through its
    inbox), or on its own."""
    from .terminal import attached, has_terminal

    if not has_terminal():
        fail(False, KeelError("keel tui needs a terminal; use the CLI commands in scripts"), 2)
    with _runtime(False) as (settings, runtime, served):
        attached(settings, runtime, served, _who(settings, runtime.policy, actor))


@cli.command()
def init(
    folder: Annotated[
        Path | None,
        typer.Argument(help="The new home folder (default: KEEL_HOME).", show_default=False),
    ] = None,
    as_json: Json = False,
) -> None:
    """Make a new home: a private folder with a commented policy.toml (you as its owner) and
    .env (every setting, commented). Never overwrites."""
    from .home import init_home
    from .settings import SettingsError, load_settings

    with errors(as_json):
        settings = load_settings()
        target = folder or settings.home
        try:
            written = init_home(target, settings.user)
        except OSError as exc:
            why = (
                "it is a file, not a folder"
                if target.is_file()
                else (f"{exc.strerror or exc} ({exc.filename or target})")
            )
            raise SettingsError(
                f"cannot make a home in {target}: {why}; pick a folder you may write to"
            ) from exc
    use = "" if target.absolute() == settings.home.absolute() else f"KEEL_HOME={target} "
    emit(
        as_json,
        {"home": str(target), "files": [str(p) for p in written], "person": settings.user},
        f"New home {target}: {written[0]} (business rules; {settings.user} is its owner) and"
        f" {written[1]} (every setting, commented), readable by you alone.\n"
        f"Next: {use}keel doctor, then {use}keel up",
    )


@cli.command()
def doctor(as_json: Json = False) -> None:
    """What Keel would use here (home, policy, you, store, mail, Slack, model, embedder),
    each checked: reachable, authorised, private. Exits with the first failure's code."""
    from .doctor import as_data, diagnose, exit_code, report

    with errors(as_json):
        checks = diagnose(_settings())
    emit(as_json, as_data(checks), report(checks))
    raise typer.Exit(exit_code(checks))


@sandbox_cli.callback()
def sandbox(
    ctx: typer.Context,
    port: Annotated[
        int | None, typer.Option(help="HTTP port (default: from KEEL_STORE_URL).")
    ] = None,
    smtp_port: Annotated[
        int | None, typer.Option(help="SMTP port (default: KEEL_SMTP_PORT).")
    ] = None,
) -> None:
    """Run the local store API and SMTP sink in the foreground."""
    if ctx.invoked_subcommand is not None:
        return
    from connectors.sandbox import serve as serve_sandbox

    with errors(False):
        settings = _settings()
        serve_sandbox(
            settings.home / "sandbox.db",
            port=port or settings.sandbox_port,
            smtp_port=smtp_port or settings.smtp_port,
            token=settings.store_token.get_secret_value(),
        )


@sandbox_cli.command("ledger")
def sandbox_ledger(
    kind: Annotated[str | None, typer.Option(help="refund, refund_void, restock or email.")] = None,
    order: Annotated[int | None, typer.Option(help="Only this order.")] = None,
    as_json: Json = False,
) -> None:
    """The effects the sandbox performed: kind, order, amount, idempotency key, time."""
    import httpx

    from connectors import ConnectorError

    with errors(as_json):
        settings = _settings()
        params: dict[str, Any] = {k: v for k, v in (("kind", kind), ("order_id", order)) if v}
        url = str(settings.store_url).rstrip("/") + "/_sandbox/ledger"
        try:
            response = httpx.get(url, params=params, timeout=5)
            response.raise_for_status()
            effects = response.json()["effects"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            why = (
                f"unreachable ({exc})"
                if isinstance(exc, httpx.TransportError)
                else (
                    "answered, but not as Keel's sandbox does"
                    if not isinstance(exc, httpx.HTTPError)
                    else str(exc)
                )
            )
            raise ConnectorError(
                why, connector="sandbox", operation="ledger", target=url, method="GET", url=url
            ) from None
        emit(as_json, effects, render.ledger_table(effects))


def main(argv: list[str] | None = None) -> None:
    keep_private()
    cli(args=argv, prog_name="keel")


if __name__ == "__main__":  # pragma: no cover
    main()
