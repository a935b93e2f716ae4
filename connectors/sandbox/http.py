"""The sandbox's HTTP server: framing, auth, fault injection and dispatch to the routes."""

from __future__ import annotations

import contextlib
import hmac
import logging
import socket
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import idempotency, routes
from .faults import Fault
from .wire import (
    BAD_GATEWAY,
    INTERNAL_ERROR,
    INVALID_TOKEN,
    METHOD_NOT_ALLOWED,
    RATE_LIMITED,
    SERVICE_UNAVAILABLE,
    ApiError,
    Call,
    Context,
    Request,
    Response,
    timestamp,
)

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Shopify-Access-Token"


def handle(context: Context, request: Request) -> Response | None:
    """The response to one request, or None when a fault says to drop the connection."""
    if not request.path.startswith(routes.ADMIN_PREFIX + "/"):
        return _control(context, request)
    delay = context.faults.latency(request.path)
    if delay:
        time.sleep(delay)
    before = context.faults.before(request.path)
    if before is Fault.DROP:
        return None
    if before is Fault.ERROR:
        return Response(503, {"errors": SERVICE_UNAVAILABLE})
    if before is Fault.RATE_LIMIT:
        retry_after = str(context.faults.settings.retry_after)
        return Response(429, {"errors": RATE_LIMITED}, {"Retry-After": retry_after})
    given = (request.header(TOKEN_HEADER) or "").encode()
    if not hmac.compare_digest(given, context.token.encode()):
        return Response(401, {"errors": INVALID_TOKEN})
    response = _admin(context, request)
    after = context.faults.after(request.path)
    if after is Fault.DROP_AFTER:
        return None
    if after is Fault.ERROR_AFTER:
        return Response(502, {"errors": BAD_GATEWAY})
    return response


def _admin(context: Context, request: Request) -> Response:
    match = routes.resolve(routes.ADMIN, request.method, request.path)
    if match is None:
        return ApiError.not_found().response()
    if match.route is None:
        return _method_not_allowed(match.allowed)
    handler = match.route.handler
    request = replace(request, params=match.params)
    try:
        if request.method == "POST":
            return idempotency.perform(context, request, handler)
        with context.store.read() as conn:
            return handler(Call(request, conn, timestamp(context.clock()), None))
    except ApiError as error:
        return error.response()


def _control(context: Context, request: Request) -> Response:
    match = routes.resolve(routes.CONTROL, request.method, request.path)
    if match is None:
        return ApiError.not_found().response()
    if match.route is None:
        return _method_not_allowed(match.allowed)
    try:
        return match.route.handler(context, replace(request, params=match.params))
    except ApiError as error:
        return error.response()


def _method_not_allowed(allowed: tuple[str, ...]) -> Response:
    return Response(405, {"errors": METHOD_NOT_ALLOWED}, {"Allow": ", ".join(allowed)})


class SandboxServer(ThreadingHTTPServer):
    """A threading HTTP server that can close its keep-alive connections when it stops."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], context: Context) -> None:
        super().__init__(address, RequestHandler)
        self.context = context
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake every handler idling on a keep-alive connection so it can finish."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the peer
                connection.shutdown(socket.SHUT_RDWR)


class RequestHandler(BaseHTTPRequestHandler):
    """Turns HTTP/1.1 exchanges into Requests and Responses; all decisions are in `handle`."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes; do not let them wait
    server_version = "KeelSandbox/0.1"
    timeout = 30  # an idle keep-alive connection is closed after this long
    wbufsize = -1  # buffer so status, headers and body leave in one write (no Nagle stall)
    server: SandboxServer

    def do_GET(self) -> None:
        self._exchange()

    def do_POST(self) -> None:
        self._exchange()

    def do_PUT(self) -> None:
        self._exchange()

    def do_DELETE(self) -> None:
        self._exchange()

    def do_PATCH(self) -> None:
        self._exchange()

    def do_HEAD(self) -> None:
        self._exchange()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _exchange(self) -> None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True  # the unread chunks would corrupt the next request
            self._send(Response(411, {"errors": "send the body with a Content-Length"}))
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            self._send(Response(400, {"errors": "invalid Content-Length"}))
            return
        try:
            body = self.rfile.read(length) if length > 0 else b""
        except OSError:  # the client went away or stalled past the timeout
            self.close_connection = True
            return
        target = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=target.path,
            query=parse_qs(target.query),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        try:
            response = handle(self.server.context, request)
        except Exception:  # the boundary: a bug becomes a 500, never a hung client
            log.exception("sandbox failed on %s %s", request.method, request.path)
            response = Response(500, {"errors": INTERNAL_ERROR})
        if response is None:
            self.close_connection = True  # an injected drop: no status line, no body
            return
        self._send(response)

    def _send(self, response: Response) -> None:
        payload = response.encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.wfile.flush()
