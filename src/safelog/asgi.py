"""
ASGI middleware: request context and one access record per request.

Pure ASGI, so it wraps any ASGI application (Starlette, FastAPI, Quart...)::

    app.add_middleware(safelog.asgi.SafelogMiddleware)

For each HTTP request it binds a request id (the incoming ``X-Request-ID``
if it is a valid `Id`, else a generated one; echoed in the response), the
method and the trace ids to every record logged while the request is
handled, and emits one ``http_request`` record at the end: method, route
*template*, status, duration, response size. Never the raw path, query
string, headers, cookies, body, client address or user agent.

Requires nothing beyond the ASGI spec: ``import safelog`` never imports it.
"""

from __future__ import annotations

import sys

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from . import _context
from ._integration import RequestScope, header_name


__all__ = ["SafelogMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def route_of(scope: Scope) -> str:
    """
    The matched route template: Starlette/FastAPI put the matched route into
    the scope (``scope["route"].path``, e.g. ``/items/{item_id}``), mounted
    apps under their mount's template. Anything else: the unmatched marker.
    """
    route = scope.get("route")
    path = getattr(route, "path", None) if route is not None else None
    if path is None:
        return _context.MARKER_UNMATCHED
    return _context.route_template(path)


class SafelogMiddleware:
    """
    Bind request context and emit one access record per HTTP request.

    *request_id_header* names the incoming header that may carry a request
    id (default ``X-Request-ID``); the id in use is echoed in the response
    under the same name unless *echo_request_id* is False.
    """

    __slots__ = ("_echo", "_header", "_header_bytes", "_wanted", "app")

    def __init__(
        self,
        app: ASGIApp,
        *,
        request_id_header: str = "X-Request-ID",
        echo_request_id: bool = True,
    ) -> None:
        self.app = app
        self._header = header_name(request_id_header)
        self._header_bytes = self._header.encode("ascii")
        self._wanted = frozenset({self._header_bytes, b"traceparent", b"x-amzn-trace-id"})
        self._echo = bool(echo_request_id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            # Lifespan and websocket: no request record, no request context.
            await self.app(scope, receive, send)
            return
        headers = _Headers(scope.get("headers"), self._wanted)
        req = RequestScope(scope.get("method"), headers.get, self._header)
        status: list[int | None] = [None]
        size = [0]
        echo = self._echo
        rid_header = self._header_bytes
        rid = req.request_id.encode("ascii")

        async def send_wrapper(message: Message) -> None:
            kind = message.get("type")
            if kind == "http.response.start":
                code = message.get("status")
                status[0] = code if type(code) is int else None
                if echo:
                    out = list(message.get("headers") or ())
                    if not any(k.lower() == rid_header for k, _ in out):
                        out.append((rid_header, rid))
                        message["headers"] = out
            elif kind == "http.response.body":
                body = message.get("body", b"")
                if type(body) is bytes:
                    size[0] += len(body)
            await send(message)

        exc_info: Any = None
        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException:
            # Recorded as type and frames only; the server reports it too.
            exc_info = sys.exc_info()
            if status[0] is None:
                status[0] = 500
            raise
        finally:
            req.finish(
                logger_name="safelog.asgi",
                route=route_of(scope),
                status=status[0],
                response_size=size[0],
                exc_info=exc_info,
            )
            exc_info = None


class _Headers:
    """The few headers the middleware reads, found in one pass; never the others."""

    __slots__ = ("_found",)

    def __init__(self, raw: object, wanted: frozenset[bytes]) -> None:
        found: dict[bytes, bytes] = {}
        if isinstance(raw, (list, tuple)):
            for item in raw:
                try:
                    k, v = item
                except (TypeError, ValueError):
                    continue
                if type(k) is bytes and type(v) is bytes:
                    k = k.lower()
                    if k in wanted and k not in found:
                        found[k] = v
        self._found = found

    def get(self, name: str) -> bytes | None:
        return self._found.get(name.encode("ascii"))
