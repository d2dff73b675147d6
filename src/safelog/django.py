"""
Django middleware: request context and one access record per request.

Put it first in ``MIDDLEWARE``::

    MIDDLEWARE = ["safelog.django.SafelogMiddleware", ...]

and call ``safelog.configure()`` in ``wsgi.py`` / ``asgi.py`` after
``get_wsgi_application()`` / ``get_asgi_application()`` (Django has applied
``settings.LOGGING`` by then; configure() takes Django's handlers over).

For each request it binds a request id (the incoming ``X-Request-ID`` if it
is a valid `Id`, else a generated one; echoed in the response), the method,
the trace ids and -- once Django has resolved the URL -- the route as
Django writes it (``items/<int:item_no>``) to every record logged while the
request is handled, and emits one ``http_request`` record at the end:
method, route, status, duration, response size. A request no URL pattern
matched gets ``"<unmatched>"``.

Settings, all optional, in one dict::

    SAFELOG = {"request_id_header": "X-Request-ID", "echo_request_id": True}
"""

from __future__ import annotations

import sys

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings

from . import _context
from ._integration import RequestScope, header_name
from .errors import ConfigurationError


__all__ = ["SafelogMiddleware"]


def _route(request: Any) -> str | None:
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", None) if match is not None else None
    return None if route is None else _context.route_template(route)


class SafelogMiddleware:
    """Django middleware (sync and async) binding request context; see the module."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        options = getattr(settings, "SAFELOG", None)
        if options is None:
            options = {}
        if not isinstance(options, dict):
            msg = "SAFELOG: the Django setting must be a dict"
            raise ConfigurationError(msg)
        display = options.get("request_id_header", "X-Request-ID")
        self._header = header_name(display, "SAFELOG['request_id_header']")
        self._display = display
        self._meta_key = "HTTP_" + self._header.upper().replace("-", "_")
        self._echo = bool(options.get("echo_request_id", True))
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def _start(self, request: Any) -> RequestScope:
        meta = request.META
        rid_key = self._meta_key

        def get(name: str) -> object:
            if name == self._header:
                return meta.get(rid_key)
            return meta.get("HTTP_" + name.upper().replace("-", "_"))

        return RequestScope(request.method, get, self._header)

    def _finish(self, req: RequestScope, request: Any, response: Any, exc_info: Any) -> None:
        status = getattr(response, "status_code", None) if response is not None else None
        size = 0
        if response is not None:
            if not getattr(response, "streaming", False):
                content = getattr(response, "content", b"")
                size = len(content) if type(content) is bytes else 0
            if self._echo and not response.has_header(self._display):
                response[self._display] = req.request_id
        if exc_info is not None and status is None:
            status = 500
        req.finish(
            logger_name="safelog.django",
            route=_route(request) or _context.MARKER_UNMATCHED,
            status=status,
            response_size=size,
            exc_info=exc_info,
        )

    def __call__(self, request: Any) -> Any:
        if self._async:
            return self.__acall__(request)
        req = self._start(request)
        try:
            response = self.get_response(request)
        except BaseException:
            self._finish(req, request, None, sys.exc_info())
            raise
        self._finish(req, request, response, None)
        return response

    async def __acall__(self, request: Any) -> Any:
        req = self._start(request)
        try:
            response = await self.get_response(request)
        except BaseException:
            self._finish(req, request, None, sys.exc_info())
            raise
        self._finish(req, request, response, None)
        return response

    def process_view(
        self,
        request: Any,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        # URL resolved: the view's own records carry the route from here on.
        ctx = _context.current()
        route = _route(request)
        if ctx is not None and route is not None:
            ctx.update({"route": route})
