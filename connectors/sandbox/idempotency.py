"""Stripe-style idempotency keys: perform a POST once, replay its stored response to retries."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from . import db
from .wire import KEY_REUSED, Call, Context, Request, Response, timestamp

REPLAYED_HEADER = "Idempotent-Replayed"


def fingerprint(request: Request) -> str:
    """What makes two requests "the same": method, path and body (JSON compared canonically)."""
    try:
        body = json.dumps(json.loads(request.body), sort_keys=True, separators=(",", ":"))
        canonical = body.encode()
    except (UnicodeDecodeError, json.JSONDecodeError):
        canonical = request.body
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


def perform(context: Context, request: Request, handler: Callable[[Call], Response]) -> Response:
    """Run a POST at most once per idempotency key.

    The key lookup, the effect, its ledger row and the stored response share one
    transaction under the store's lock, so concurrent retries wait and then replay.
    A request that fails (an ApiError) rolls back and stores nothing, as in Stripe when
    a request is rejected before it executes; the key stays free for a corrected retry.
    """
    key = request.header("Idempotency-Key") or None
    now = timestamp(context.clock())
    with context.store.transaction() as conn:
        if key is not None:
            stored = db.stored_response(conn, key)
            if stored is not None:
                if stored.fingerprint != fingerprint(request):
                    return Response(422, {"errors": {"idempotency_key": [KEY_REUSED]}})
                return Response(stored.status, json.loads(stored.body), {REPLAYED_HEADER: "true"})
        response = handler(Call(request, conn, now, key))
        if key is not None:
            db.store_response(
                conn,
                key,
                method=request.method,
                path=request.path,
                fingerprint=fingerprint(request),
                status=response.status,
                body=json.dumps(response.body),
                at=now,
            )
        return response
