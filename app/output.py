"""What every command prints: its result (text, or JSON under `--json`), and its failure as
one line and an exit code (2 bad input or configuration, 3 not found, 4 refused, 5 a
service unreachable, 6 the audit chain is broken, 1 otherwise), never a traceback."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from graph import KeelError

from .home import database_errors


class JsonUsage(TyperGroup):
    """Usage errors (a missing option, `--order abc`) as one JSON object under `--json`."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if "--json" not in argv:
            return super().main(
                argv, prog_name, complete_var, standalone_mode, windows_expand_args, **extra
            )
        try:
            code = super().main(argv, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.TyperException as exc:  # Typer's own copy of Click's errors
            typer.echo(json.dumps({"error": type(exc).__name__, "message": exc.format_message()}))
            code = exc.exit_code
        sys.exit(code if isinstance(code, int) else 0)


def exit_code(exc: BaseException) -> int | None:
    """The exit code for an error a person can act on; None for a defect."""
    from graph import DecisionRefused, InvalidInput, NotFound, PolicyError, RunStateError

    from .demo import DemoRefused
    from .settings import SettingsError

    codes: list[tuple[type[BaseException] | None, int]] = [
        (SettingsError, 2),
        (PolicyError, 2),
        (InvalidInput, 2),
        (DemoRefused, 2),
        (NotFound, 3),
        (DecisionRefused, 4),
        (RunStateError, 4),
        (loaded("remote.errors", "ConnectorError"), 5),
        (loaded("memory.errors", "EmbeddingFailed"), 5),
        (KeelError, 1),
        *((cls, 2) for cls in database_errors()),
        (OSError, 2),
    ]
    return next((code for cls, code in codes if cls and isinstance(exc, cls)), None)


def loaded(module: str, name: str) -> type[BaseException] | None:
    """An error class from a module already imported: none of its errors can exist otherwise,
    and importing it to find out would load the connectors on every error path."""
    found = getattr(sys.modules.get(module), name, None)
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def message_of(exc: BaseException) -> str:
    message = str(exc)
    connector = loaded("remote.errors", "ConnectorError")
    if (
        connector
        and isinstance(exc, connector)
        and getattr(exc, "connector", None) in ("store", "sandbox")
    ):
        message += " — is the store running? `keel up` or `keel sandbox` starts the local one"
    elif isinstance(exc, (*database_errors(), OSError)):  # the home, its files, a socket
        where = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
        said = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        message = (
            f"{type(exc).__name__}: {said}{where}; is KEEL_HOME a folder of Keel's, readable and"
            " writable by you?"
        )
    return " ".join(message.split())  # one line, whatever the error carried


def emit(as_json: bool, data: Any, text: str) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        typer.echo(text)


def fail(as_json: bool, exc: BaseException, code: int) -> NoReturn:
    message = message_of(exc)
    if as_json:
        typer.echo(json.dumps({"error": type(exc).__name__, "message": message}))
    else:
        typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def errors(as_json: bool) -> Iterator[None]:
    """Errors as one line and an exit code; a defect too, unless KEEL_DEBUG asks for its
    traceback."""
    try:
        yield
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:
        code = exit_code(exc)
        if code is None:
            if os.environ.get("KEEL_DEBUG"):
                raise
            code = 1
            exc = KeelError(
                f"unexpected {type(exc).__name__}: {exc} (a defect in Keel;"
                " KEEL_DEBUG=1 shows where)"
            )
        fail(as_json, exc, code)
