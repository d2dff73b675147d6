"""
What the framework integrations share: opening a request's context from its
headers, and emitting the one access record when it ends.

Integrations emit their records through the current chain with their own
frame as the call site, so their events are literals of their own code and
pass `EventGuard` as any service's would.
"""

from __future__ import annotations

import logging
import sys
import time

from collections.abc import Callable
from types import FrameType
from typing import Any

from . import _chain, _context
from ._context import RequestContext


__all__ = ["RequestScope", "emit", "emit_trusted", "header_name"]

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def emit(
    logger_name: str,
    level: str,
    event: str,
    frame: FrameType | None,
    fields: dict[str, Any] | None = None,
) -> None:
    """
    Emit one record of an integration through the current chain; never raises.

    *event* must be a string literal of *frame*'s code (the integration's
    own call site); *fields* go through the policy like call arguments.
    """
    try:
        chain = _chain.current_chain()
        if _LEVELS.get(level, logging.INFO) < chain.min_level:
            return
        event_dict: dict[str, Any] = dict(fields) if fields else {}
        event_dict["event"] = event
        chain.run((logger_name, frame), level, event_dict)
    except Exception:  # noqa: BLE001 -- fail open: logging never breaks the request
        return


def emit_trusted(
    logger_name: str,
    level: str,
    event: str,
    frame: FrameType | None,
    trusted: dict[str, Any],
) -> None:
    """
    Like `emit`, with *trusted* fields that safelog itself built from names
    of code (not call arguments): bound for this one record, past the policy.
    """
    token = _context.activate(RequestContext(dict(trusted)))
    try:
        emit(logger_name, level, event, frame)
    finally:
        _context.deactivate(token)


def header_name(name: object, option: str = "request_id_header") -> str:
    """A header name given to a middleware, checked once, lower case."""
    from .policy import ConfigurationError

    if (
        type(name) is not str
        or not name
        or len(name) > 64
        or not all(c.isascii() and (c.isalnum() or c == "-") for c in name)
    ):
        msg = f"{option}: must be an HTTP header name such as 'X-Request-ID'"
        raise ConfigurationError(msg)
    return name.lower()


class RequestScope:
    """
    One request's context from start to access record.

    ``get_header`` returns a raw header value (bytes or str) or None; it is
    only ever asked for the request id and trace headers.
    """

    __slots__ = ("ctx", "started", "token")

    def __init__(
        self,
        method: object,
        get_header: Callable[[str], object],
        request_id_header: str,
    ) -> None:
        self.started = time.perf_counter()
        request_id, rid_rejected = _context.request_id_from(get_header(request_id_header))
        fields: dict[str, Any] = {"request_id": request_id}
        m = method.upper() if type(method) is str else None
        fields["method"] = m if m in _METHODS else "<rejected:http_method>"
        trace, trace_rejected = _context.trace_fields(
            get_header("traceparent"), get_header("x-amzn-trace-id")
        )
        fields.update(trace)
        if rid_rejected:
            fields["request_id_rejected"] = True
        if trace_rejected:
            fields["trace_rejected"] = True
        self.ctx = RequestContext(fields)
        self.token = _context.activate(self.ctx)

    @property
    def request_id(self) -> str:
        rid: str = self.ctx.fields["request_id"]
        return rid

    def finish(
        self,
        *,
        logger_name: str,
        route: str,
        status: int | None,
        response_size: int,
        exc_info: Any = None,
    ) -> None:
        """Emit the access record and unbind the context; never raises."""
        try:
            duration = (time.perf_counter() - self.started) * 1000.0
            self.ctx.update(
                {
                    # A route bound while the request ran (by the router) wins.
                    "route": self.ctx.fields.get("route", route),
                    "status": status if type(status) is int and 100 <= status <= 599 else None,
                    "duration_ms": round(duration, 3),
                    "response_size": response_size,
                }
            )
            extra: dict[str, Any] = {}
            level = "info"
            if exc_info is not None:
                extra["exc_info"] = exc_info
                level = "error"
            elif type(status) is int and status >= 500:
                level = "error"
            # Bound again for the record itself: a server may close the
            # response from another context (a generator finalised later).
            token = _context.activate(self.ctx)
            try:
                _emit_access(logger_name, level, extra)
            finally:
                _context.deactivate(token)
        finally:
            _context.deactivate(self.token)


def _emit_access(logger_name: str, level: str, extra: dict[str, Any]) -> None:
    # The event is a literal of this function, whose frame is the call site.
    emit(logger_name, level, "http_request", sys._getframe(), extra)


_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
