"""
WSGI middleware: request context and one access record per request.

Wraps any WSGI application; for Flask, either form works::

    app.wsgi_app = safelog.wsgi.SafelogMiddleware(app.wsgi_app)
    application = safelog.wsgi.SafelogMiddleware(app)

It binds a request id (the incoming ``X-Request-ID`` if it is a valid `Id`,
else a generated one; echoed in the response), the method and the trace ids
to every record logged while the request is handled -- including while the
response body is iterated -- and emits one ``http_request`` record when the
server closes the response: method, route *template*, status, duration,
response size. Flask apps get their URL rule (``/items/<int:id>``), bound as
soon as Flask has routed the request, so the view's own records carry it too;
a plain WSGI app with no routing information gets ``"<unmatched>"``.
"""

from __future__ import annotations

import sys

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from . import _context
from ._integration import RequestScope, header_name


__all__ = ["SafelogMiddleware"]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _flask_app(app: object) -> Any:
    """The Flask application behind *app* (itself or its bound ``wsgi_app``), if any."""
    flask = sys.modules.get("flask")
    if flask is None:
        return None
    for candidate in (app, getattr(app, "__self__", None)):
        if isinstance(candidate, flask.Flask):
            return candidate
    return None


def _on_request_started(sender: object, **_: object) -> None:
    # Flask's request_started signal: routing has run, the rule is known.
    # Bound to the request's context, so records logged by the view carry
    # the route too.
    ctx = _context.current()
    if ctx is None:
        return
    flask = sys.modules.get("flask")
    rule = getattr(getattr(flask, "request", None), "url_rule", None)
    template = getattr(rule, "rule", None) if rule is not None else None
    if template is not None:
        ctx.update({"route": _context.route_template(template)})


def _status_code(status: object) -> int | None:
    if type(status) is not str or len(status) < 3 or not status[:3].isdigit():
        return None
    return int(status[:3])


class SafelogMiddleware:
    """
    Bind request context and emit one access record per request.

    *request_id_header* names the incoming header that may carry a request
    id; the id in use is echoed in the response under the same name unless
    *echo_request_id* is False.
    """

    __slots__ = ("_display", "_echo", "_environ_key", "_header", "app")

    def __init__(
        self,
        app: WSGIApp,
        *,
        request_id_header: str = "X-Request-ID",
        echo_request_id: bool = True,
    ) -> None:
        self.app = app
        self._header = header_name(request_id_header)
        self._display = request_id_header
        self._environ_key = "HTTP_" + self._header.upper().replace("-", "_")
        self._echo = bool(echo_request_id)
        flask_app = _flask_app(app)
        if flask_app is not None:
            from flask.signals import request_started

            # Strong reference: the handler is a module function, shared by
            # every middleware; connecting twice is a no-op for blinker.
            request_started.connect(_on_request_started, flask_app, weak=False)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        rid_key = self._environ_key

        def get(name: str) -> object:
            if name == self._header:
                return environ.get(rid_key)
            return environ.get("HTTP_" + name.upper().replace("-", "_"))

        req = RequestScope(environ.get("REQUEST_METHOD"), get, self._header)
        response = _Response(req, environ)
        echo = (self._header, req.request_id) if self._echo else None

        def wrapped_start_response(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            response.status = _status_code(status)
            if echo is not None and not any(k.lower() == echo[0] for k, _ in headers):
                headers = [*headers, (self._display, echo[1])]
            return start_response(status, headers, *exc)

        try:
            result = self.app(environ, wrapped_start_response)
        except BaseException:
            response.finish(sys.exc_info())
            raise
        return _ClosingIterable(result, response)


class _Response:
    __slots__ = ("done", "environ", "req", "size", "status")

    def __init__(self, req: RequestScope, environ: dict[str, Any]) -> None:
        self.req = req
        self.environ = environ
        self.status: int | None = None
        self.size = 0
        self.done = False

    def finish(self, exc_info: Any = None) -> None:
        if self.done:
            return
        self.done = True
        status = self.status
        if exc_info is not None and status is None:
            status = 500
        self.req.finish(
            logger_name="safelog.wsgi",
            route=_context.MARKER_UNMATCHED,
            status=status,
            response_size=self.size,
            exc_info=exc_info,
        )


class _ClosingIterable:
    """The app's response, counted as it is sent; the record goes out on close()."""

    __slots__ = ("_response", "_result")

    def __init__(self, result: Iterable[bytes], response: _Response) -> None:
        self._result = result
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        response = self._response
        try:
            for chunk in self._result:
                if type(chunk) is bytes:
                    response.size += len(chunk)
                yield chunk
        except GeneratorExit:
            # The server stopped iterating (client gone): not an app error.
            response.finish()
            raise
        except BaseException:
            response.finish(sys.exc_info())
            raise

    def close(self) -> None:
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            self._response.finish()
