"""The sandbox's control plane (/_sandbox): health, ledger, faults, received mail and reset."""

from __future__ import annotations

from pydantic import ValidationError

from . import db, seed
from .wire import ApiError, Context, Request, Response


def health(context: Context, request: Request) -> Response:
    return Response(200, {"ok": True})


def ledger(context: Context, request: Request) -> Response:
    kind = request.query_value("kind")
    if kind is not None and kind not in {k.value for k in db.EffectKind}:
        known = ", ".join(k.value for k in db.EffectKind)
        raise ApiError.bad_request(f"kind must be one of {known}")
    raw_order = request.query_value("order_id")
    if raw_order is not None and not raw_order.isdigit():
        raise ApiError.bad_request("order_id must be an integer")
    order_id = None if raw_order is None else int(raw_order)
    with context.store.read() as conn:
        return Response(200, {"effects": db.effects(conn, kind, order_id)})


def get_faults(context: Context, request: Request) -> Response:
    return Response(200, context.faults.settings.model_dump(mode="json"))


def put_faults(context: Context, request: Request) -> Response:
    try:
        settings = context.faults.update(request.json_object())
    except ValidationError as error:
        errors: dict[str, list[str]] = {}
        for problem in error.errors():
            name = ".".join(str(part) for part in problem["loc"]) or "faults"
            errors.setdefault(name, []).append(problem["msg"])
        raise ApiError(400, errors) from error
    return Response(200, settings.model_dump(mode="json"))


def clear_faults(context: Context, request: Request) -> Response:
    return Response(200, context.faults.clear().model_dump(mode="json"))


def mail(context: Context, request: Request) -> Response:
    message_id = request.query_value("message_id")
    with context.store.read() as conn:
        found = db.messages(conn, None if message_id is None else message_id.strip("<>"))
    return Response(200, {"messages": found})


def reset(context: Context, request: Request) -> Response:
    seed.reset(context.store)
    return Response(200, {"ok": True})
