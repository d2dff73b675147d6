"""
Request context: metadata bound to every record logged while a request (a
task, an invocation) is handled, and nothing else.

The framework integrations (`safelog.asgi`, `safelog.wsgi`, `safelog.django`,
`safelog.celery`, `safelog.aws_lambda`) open a `RequestContext` with
`activate` and close it with `deactivate`; in between, `PolicyFilter` adds its
fields to every record -- safelog's own calls, stdlib records, third-party
libraries' records -- because they all run in the request's `contextvars`
context. Threads started with a copied context (``run_in_threadpool``,
``asyncio.to_thread``) carry it too.

Every value is validated here, when it is bound, against its built-in kind:
an incoming request id only if it is a valid `Id`, trace ids only as hex of
the right length. Whatever fails is replaced (a generated request id) or
dropped and counted, never echoed.

The built-in field names need no declaration (`BUILTIN_FIELDS`). A policy
may still declare them: then the declared kind is the one every value under
that name must pass, the integration's too (a service that declared
``status`` as ``Enum("ok", "failed")`` sees ``<rejected:enum>`` in access
records rather than a number it did not declare).
"""

from __future__ import annotations

import contextvars
import importlib
import re
import sys
import threading
import uuid

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .policy import (
    Bool,
    Duration,
    HttpMethod,
    HttpStatus,
    Id,
    Int,
    Kind,
)


__all__ = [
    "BUILTIN_FIELDS",
    "MARKER_ROUTE",
    "MARKER_UNMATCHED",
    "RequestContext",
    "activate",
    "counters",
    "current",
    "deactivate",
    "request_id_from",
    "route_template",
    "trace_from_amzn",
    "trace_from_otel",
    "trace_from_traceparent",
]

#: The route of a request no route matched (or that failed before matching).
MARKER_UNMATCHED = "<unmatched>"
#: A route template that does not look like one (built at runtime?).
MARKER_ROUTE = "<rejected:route>"

_HEX32 = re.compile(r"[0-9a-f]{32}\Z")
_HEX16 = re.compile(r"[0-9a-f]{16}\Z")
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})\Z")
_XRAY_ROOT = re.compile(r"1-([0-9a-f]{8})-([0-9a-f]{24})\Z")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}\Z")
# Route templates come from the router's code; still, a template built from
# data at runtime must not pass as one: printable ASCII, no spaces, bounded.
_ROUTE = re.compile(r"[!-~]{1,200}\Z")
_ZERO32 = "0" * 32
_ZERO16 = "0" * 16
_MAX_HEADER = 512

#: Fields the integrations add to records, with the kind a value passed in a
#: call under the same name must pass (None: only the integration sets it;
#: a call needs a declaration). They need no declaration in the policy.
BUILTIN_FIELDS: Mapping[str, Kind | None] = MappingProxyType(
    {
        "request_id": Id(max_length=128, purpose="correlates the records of one request"),
        "trace_id": Id(pattern=r"[0-9a-f]{32}", purpose="W3C / OpenTelemetry trace id"),
        "span_id": Id(pattern=r"[0-9a-f]{16}", purpose="W3C / OpenTelemetry span id"),
        "xray_trace_id": Id(pattern=r"1-[0-9a-f]{8}-[0-9a-f]{24}", purpose="AWS X-Ray trace id"),
        "method": HttpMethod(purpose="HTTP method of the request"),
        "route": None,
        "status": HttpStatus(purpose="HTTP status of the response"),
        "duration_ms": Duration(unit="ms", purpose="time spent handling the request"),
        "response_size": Int(min=0, purpose="bytes of response body sent"),
        "request_id_rejected": Bool(purpose="the incoming request id was not a valid Id"),
        "trace_rejected": Bool(purpose="an incoming trace header was malformed"),
        "task_name": None,
        "task_id": Id(max_length=128, purpose="Celery task id"),
        "task_state": None,
        "retries": Int(min=0, purpose="Celery retries so far"),
        "runtime_ms": Duration(unit="ms", purpose="task run time"),
        "aws_request_id": Id(max_length=128, purpose="Lambda invocation id"),
        "function_name": None,
        "function_version": None,
        "cold_start": Bool(purpose="first invocation of this Lambda environment"),
        "remaining_ms": Int(min=0, purpose="Lambda time left at the start, ms"),
        "event_type": None,
    }
)


class Counters:
    """Process-wide counts of incoming values that were replaced or dropped."""

    __slots__ = ("request_ids_replaced", "traces_rejected")

    def __init__(self) -> None:
        self.request_ids_replaced = 0
        self.traces_rejected = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "request_ids_replaced": self.request_ids_replaced,
            "traces_rejected": self.traces_rejected,
        }


#: Counts since start (plain ints: a lost increment under a race costs a
#: count, never a record).
counters = Counters()


class RequestContext:
    """The validated fields of one request; changed only through `update`."""

    __slots__ = ("cache", "fields")

    def __init__(self, fields: dict[str, Any] | None = None) -> None:
        self.fields: dict[str, Any] = {} if fields is None else fields
        #: (the PolicyFilter, the fields as it cleaned them): a request logs
        #: many records under one configuration, cleaned once.
        self.cache: tuple[object, dict[str, Any]] | None = None

    def update(self, values: Mapping[str, Any]) -> None:
        self.fields.update(values)
        self.cache = None


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "safelog_request", default=None
)
#: The hot path's read: bound method, no attribute lookups per record.
current = _current.get


def activate(ctx: RequestContext) -> contextvars.Token[RequestContext | None]:
    """Bind *ctx* to the running context; pass the token to `deactivate`."""
    return _current.set(ctx)


def deactivate(token: contextvars.Token[RequestContext | None]) -> None:
    """Unbind what `activate` bound; never raises."""
    try:
        _current.reset(token)
    except (ValueError, RuntimeError):
        # Made in another Context (the response finished from elsewhere), or
        # already used: the context that bound it is not this one, and this
        # one's request (if any) is not ours to clear.
        return


# -- validation ----------------------------------------------------------------


def _text(raw: object) -> str | None:
    if type(raw) is bytes:
        if len(raw) > _MAX_HEADER:
            return None
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            return None
    if type(raw) is str:
        return raw if len(raw) <= _MAX_HEADER else None
    return None


def request_id_from(raw: object) -> tuple[str, bool]:
    """
    The request id to use for an incoming header value *raw* (or None), and
    whether an incoming value was rejected (then a fresh id is generated).
    """
    text = _text(raw)
    if text is not None:
        text = text.strip()
        if _REQUEST_ID.match(text):
            return text, False
    rejected = raw is not None
    if rejected:
        counters.request_ids_replaced += 1
    return str(uuid.uuid4()), rejected


def trace_from_traceparent(raw: object) -> dict[str, str] | None:
    """``trace_id``/``span_id`` from a W3C ``traceparent`` value, or None if malformed."""
    text = _text(raw)
    m = _TRACEPARENT.match(text.strip()) if text is not None else None
    if m is None:
        return None
    version, trace_id, span_id, _flags = m.groups()
    if version == "ff" or trace_id == _ZERO32 or span_id == _ZERO16:
        return None
    if version == "00" and len(text.strip()) != 55:  # type: ignore[union-attr]
        return None
    return {"trace_id": trace_id, "span_id": span_id}


def trace_from_amzn(raw: object) -> dict[str, str] | None:
    """
    ``trace_id`` (32 hex, the OpenTelemetry form), ``xray_trace_id`` (the
    form X-Ray and CloudWatch correlate on) and ``span_id`` (the parent
    segment, if given) from an ``X-Amzn-Trace-Id`` / ``_X_AMZN_TRACE_ID``
    value, or None if it has no valid ``Root``.
    """
    text = _text(raw)
    if text is None:
        return None
    root: str | None = None
    parent: str | None = None
    for part in text.split(";"):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "Root" and root is None:
            root = value
        elif key == "Parent" and parent is None:
            parent = value
    m = _XRAY_ROOT.match(root) if root is not None else None
    if m is None:
        return None
    out: dict[str, str] = {"trace_id": m.group(1) + m.group(2), "xray_trace_id": m.group(0)}
    if parent is not None and _HEX16.match(parent) and parent != _ZERO16:
        out["span_id"] = parent
    return out


_otel_trace: Any = None
_otel_lock = threading.Lock()


def _otel() -> Any:
    # Only once the service itself imported OpenTelemetry (checked per
    # request: one dict lookup); `import safelog` never imports it.
    global _otel_trace  # noqa: PLW0603
    if _otel_trace is None and "opentelemetry" in sys.modules:
        with _otel_lock:
            try:
                _otel_trace = importlib.import_module("opentelemetry.trace")
            except ImportError:
                return None
    return _otel_trace


def trace_from_otel() -> dict[str, str] | None:
    """``trace_id``/``span_id`` of the current OpenTelemetry span, if one is recording."""
    trace = _otel()
    if trace is None:
        return None
    try:
        span = trace.get_current_span()
        if not span.is_recording():
            return None
        sc = span.get_span_context()
        trace_id, span_id = sc.trace_id, sc.span_id
        if type(trace_id) is not int or type(span_id) is not int or not trace_id or not span_id:
            return None
        out = {"trace_id": f"{trace_id:032x}", "span_id": f"{span_id:016x}"}
    except Exception:  # noqa: BLE001 -- a broken tracer must not cost the request
        return None
    if not _HEX32.match(out["trace_id"]) or not _HEX16.match(out["span_id"]):
        return None
    return out


def trace_fields(traceparent: object = None, amzn: object = None) -> tuple[dict[str, str], bool]:
    """
    Trace correlation for a request, in order of preference: the current
    OpenTelemetry span, the W3C ``traceparent`` header, the AWS
    ``X-Amzn-Trace-Id`` header. Returns the fields and whether a header that
    was present was malformed (dropped and counted).
    """
    rejected = False
    found = trace_from_otel()
    if found is None and traceparent is not None:
        found = trace_from_traceparent(traceparent)
        rejected = found is None
    xray = trace_from_amzn(amzn) if amzn is not None else None
    if amzn is not None and xray is None:
        rejected = True
    if found is None:
        found = xray
    elif xray is not None:
        # Keep the X-Ray form too: CloudWatch and X-Ray correlate on it.
        found["xray_trace_id"] = xray["xray_trace_id"]
    if rejected:
        counters.traces_rejected += 1
    return (found or {}), rejected


def route_template(template: object) -> str:
    """A route template from the framework's router, shape-checked; else a marker."""
    if template is None:
        return MARKER_UNMATCHED
    if type(template) is not str or not _ROUTE.match(template):
        return MARKER_ROUTE
    return template
