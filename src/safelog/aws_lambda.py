"""
AWS Lambda: invocation context on every record, one record per invocation,
and errors that reach the runtime's report without their message.

::

    safelog.configure(service="payments")   # at import: the cold start

    @safelog.aws_lambda.log_invocation
    def handler(event, context): ...

In Lambda (detected from the runtime's environment) `safelog.configure`
writes one JSON record per line to stdout by default: Lambda ships stdout to
CloudWatch Logs.

For each invocation the decorator binds ``aws_request_id``,
``function_name``, ``function_version``, ``cold_start`` and the trace ids
(the current OpenTelemetry span, else ``_X_AMZN_TRACE_ID``) to every record
logged during it, and emits one ``lambda_invocation`` record at the end with
``remaining_ms`` (at the start), ``duration_ms`` and ``event_type`` (the
JSON type of the event, never its content).

An exception escaping the handler is recorded as metadata (its type and
frames). The Lambda runtime then prints ``[ERROR] Type: message`` and the
traceback of whatever escapes, to the function's log: so the decorator
raises, in its place, an exception of a class with the same name and no
message, not chained to the original (``raise ... from None``). Pass
``sanitize_errors=False`` to let the original through to the runtime's
report (its message included) if your team accepts that.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import threading
import time

from collections.abc import Callable
from typing import Any, TypeVar, overload

from . import _context
from ._context import RequestContext
from ._integration import emit
from .tracebacks import qualified_type_name


__all__ = ["log_invocation"]

F = TypeVar("F", bound=Callable[..., Any])

_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_\-]{1,140}\Z")
_FUNCTION_VERSION = re.compile(r"(\$LATEST|[0-9]{1,10})\Z")
_REQUEST_ID = re.compile(r"[A-Za-z0-9\-]{1,128}\Z")
_PASS_THROUGH = (KeyboardInterrupt, SystemExit, GeneratorExit)
_cold = True
_cold_lock = threading.Lock()
_sanitized: dict[str, type[Exception]] = {}


def _event_type(event: object) -> str:
    t = type(event)
    if t is dict:
        return "object"
    if t is list:
        return "array"
    if t is str:
        return "string"
    if t is bool:
        return "boolean"
    if t is int or t is float:
        return "number"
    if event is None:
        return "null"
    return "other"


def _take_cold_start() -> bool:
    global _cold
    with _cold_lock:
        cold, _cold = _cold, False
    return cold


def _fields(context: object) -> dict[str, Any]:
    def shaped(value: object, pattern: re.Pattern[str]) -> str | None:
        return value if type(value) is str and pattern.match(value) else None

    fields: dict[str, Any] = {
        "aws_request_id": shaped(getattr(context, "aws_request_id", None), _REQUEST_ID),
        "function_name": shaped(
            getattr(context, "function_name", None) or os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
            _FUNCTION_NAME,
        ),
        "function_version": shaped(
            getattr(context, "function_version", None)
            or os.environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
            _FUNCTION_VERSION,
        ),
        "cold_start": _take_cold_start(),
    }
    trace, rejected = _context.trace_fields(None, os.environ.get("_X_AMZN_TRACE_ID"))
    fields.update(trace)
    if rejected:
        fields["trace_rejected"] = True
    return fields


def _remaining_ms(context: object) -> int | None:
    get = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(get):
        return None
    try:
        value = get()
    except Exception:  # noqa: BLE001 -- a broken context must not cost the invocation
        return None
    return value if type(value) is int and value >= 0 else None


def sanitized_exception(exc: BaseException) -> Exception:
    """
    An exception whose class has *exc*'s type name (a name of code) and
    which carries no message: what the Lambda runtime may print.
    """
    qualified = qualified_type_name(type(exc))
    cls = _sanitized.get(qualified)
    if cls is None:
        module, _, name = qualified.rpartition(".")
        if not name.isidentifier():
            name = "Error"
        cls = type(name, (Exception,), {"__module__": module or "builtins", "__qualname__": name})
        if len(_sanitized) < 1024:
            _sanitized[qualified] = cls
    return cls()


@overload
def log_invocation(handler: F, /) -> F: ...
@overload
def log_invocation(*, sanitize_errors: bool = True) -> Callable[[F], F]: ...
def log_invocation(
    handler: F | None = None, /, *, sanitize_errors: bool = True
) -> F | Callable[[F], F]:
    """Decorate a Lambda handler ``(event, context)``; see the module."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            remaining = _remaining_ms(context)
            ctx = RequestContext(_fields(context))
            token = _context.activate(ctx)
            try:
                result = fn(event, context, *args, **kwargs)
            except BaseException as exc:
                if isinstance(exc, _PASS_THROUGH):
                    _finish(ctx, started, remaining, event, None)
                    raise
                _finish(ctx, started, remaining, event, sys.exc_info())
                if not sanitize_errors:
                    raise
                replacement = sanitized_exception(exc)
            else:
                _finish(ctx, started, remaining, event, None)
                return result
            finally:
                _context.deactivate(token)
            # Outside the except block: the original is neither the cause
            # nor the context of what the runtime reports.
            raise replacement from None

        return wrapper  # type: ignore[return-value]

    if handler is not None:
        return decorate(handler)
    return decorate


def _finish(
    ctx: RequestContext, started: float, remaining: int | None, event: object, exc_info: Any
) -> None:
    try:
        ctx.update(
            {
                "remaining_ms": remaining,
                "duration_ms": round((time.perf_counter() - started) * 1000.0, 3),
                "event_type": _event_type(event),
            }
        )
        extra: dict[str, Any] = {}
        level = "info"
        if exc_info is not None:
            extra["exc_info"] = exc_info
            level = "error"
        emit("safelog.aws_lambda", level, "lambda_invocation", sys._getframe(), extra)
    except Exception:  # noqa: BLE001 -- never raise into the handler's caller
        return
