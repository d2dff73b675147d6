"""
The keys safelog itself writes into records: one table.

Every other module derives from it: the reserved keys a policy may not
declare (`safelog.policy.RESERVED_KEYS`), the inventory's "built-in
metadata" section (`safelog._inventory`), the keys the audit accepts
without a declaration (`safelog.audit`), and the keys CloudWatch keeps
first when it cuts an oversized record (`safelog.cloudwatch`).

A leaf: it imports nothing from safelog, so any module may import it.
The request fields the framework integrations add (``request_id``,
``route``...) are described here too (`REQUEST_FIELDS`); the kind each
value must pass lives with them in `safelog._context.BUILTIN_FIELDS`, and
a test checks that both name the same fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


__all__ = [
    "CUT_KEEP_FIRST",
    "INPUTS",
    "KEYS",
    "RECORD_KEYS",
    "REQUEST_FIELDS",
    "RESERVED",
    "BuiltinKey",
]


@dataclass(frozen=True)
class BuiltinKey:
    """A key safelog itself puts into records, when, and why it is safe."""

    #: The key (``cloudwatch_*`` stands for a family of keys).
    name: str
    #: When records carry it (the inventory's "present" column).
    present: str
    #: What it holds and why that is metadata (the inventory's description).
    description: str
    #: Reserved: a policy may not declare it and a call argument cannot set it.
    reserved: bool = True
    #: Rank among the keys CloudWatch keeps first when a record is cut to fit
    #: its event size limit (None: kept only if room is left).
    cut_rank: int | None = None


#: The built-in metadata, in the order keys appear in a record.
KEYS: tuple[BuiltinKey, ...] = (
    BuiltinKey(
        "timestamp",
        "always",
        "When the record was made: UTC, ISO 8601, milliseconds. Read from the clock, "
        "never from the call.",
        cut_rank=0,
    ),
    BuiltinKey(
        "level",
        "always",
        "debug, info, warning, error or critical (levelN for custom stdlib levels), or "
        "metric for `log.metric()`. Taken from the method called or the record's level number.",
        cut_rank=1,
    ),
    BuiltinKey(
        "logger",
        "always",
        "The logger name, only if it names a loaded module or is a string literal in "
        "the calling code; otherwise `<runtime-logger-name>`.",
        cut_rank=2,
    ),
    BuiltinKey(
        "event",
        "always",
        "The event name or stdlib message template, only if it is a string literal of "
        "the calling code (at most 256 characters); otherwise `<non-constant-event>`. "
        "`%`-arguments are never interpolated.",
        cut_rank=3,
    ),
    BuiltinKey(
        "module",
        "in records of log calls",
        "The calling module's dotted name: a name of code, never a file path.",
        cut_rank=8,
    ),
    BuiltinKey(
        "function",
        "in records of log calls",
        "The calling function's qualified name: a name of code.",
        cut_rank=9,
    ),
    BuiltinKey(
        "line",
        "in records of log calls",
        "The line number of the log call: an int.",
        cut_rank=10,
    ),
    BuiltinKey(
        "service",
        "always",
        "The configured service name, checked against `[A-Za-z0-9._:-]{1,64}`.",
        cut_rank=4,
    ),
    BuiltinKey(
        "environment",
        "when configured",
        "The configured environment name, checked against `[A-Za-z0-9._:-]{1,64}`.",
        cut_rank=5,
    ),
    BuiltinKey(
        "host",
        "always",
        "The machine's hostname if it matches `[A-Za-z0-9._:-]{1,64}`, else null: "
        "infrastructure metadata, shape-checked so the environment cannot forge a record.",
        cut_rank=6,
    ),
    BuiltinKey(
        "pid",
        "always",
        "The process id: an int, updated in forked children.",
        cut_rank=7,
    ),
    BuiltinKey(
        "dropped",
        "when something was dropped",
        "How many keys, `%`-arguments and `extra=` values were not declared fields: "
        "a count, never their names (keys can be customer data).",
        cut_rank=11,
    ),
    BuiltinKey(
        "error",
        "with exc_info or log.exception",
        "The exception as metadata: its qualified type, frames (module, function, line), "
        "a fingerprint, and causes, contexts and group members of the same shape; the "
        "declared fields of a SafeError, checked by kind; pydantic error types and field "
        "locations. Never its message, args, notes, attributes, locals, source or paths.",
    ),
    BuiltinKey(
        "stack",
        "with stack_info=True",
        "The call stack as a list of module, function and line: names of code only.",
    ),
    BuiltinKey(
        "_aws",
        "in records that carry a field declared with metric=",
        "CloudWatch Embedded Metric Format metadata: the record's time in epoch ms, the "
        "configured namespace, and the names and units of the metric fields and the names "
        "of the dimensions (service, environment, fields declared with dimension=True) "
        "-- names from the policy and configuration only. In these records dimension "
        "fields are rendered as strings.",
    ),
    BuiltinKey(
        "buffered",
        "in records held by buffer_level and emitted because their scope had an error",
        "true: the record was logged earlier in the scope and held until the error.",
    ),
    BuiltinKey(
        "sampling_rate",
        "in DEBUG/INFO records of sampled-in scopes, when sampling_rate is configured",
        "The configured rate, a number from 0 to 1.",
    ),
    # The three below are written past the chain (CloudWatch's cut, the loss
    # report, the fallback record), never by a call: not reserved today, so
    # that no declared field of that name in an existing policy breaks.
    BuiltinKey(
        "safelog_cut",
        "only in records cut to fit CloudWatch's event size limit",
        "The original record's size in bytes, an int; the keys that did not fit are "
        "counted in `dropped`.",
        reserved=False,
    ),
    BuiltinKey(
        "cloudwatch_*",
        "only in safelog's loss reports",
        "Records with event `safelog.cloudwatch.loss` carry the CloudWatch shipper's "
        "counters (accepted, delivered, dropped by cause, retries, calls, errors): ints "
        "only, no names, no messages.",
        reserved=False,
    ),
    BuiltinKey(
        "safelog_error",
        "only in internal-error records",
        "When a safelog stage itself failed, the record is rebuilt from the trusted keys "
        "above with event `<safelog-internal-error>` and the failing class's type name here.",
        reserved=False,
    ),
)

#: Reserved keys a call may pass but that are consumed by the chain and never
#: emitted under their own name, or kept free for safelog's own use.
INPUTS: Mapping[str, str] = MappingProxyType(
    {
        "exc_info": "consumed: becomes `error`",
        "stack_info": "consumed: becomes `stack`",
        "safelog": "reserved for safelog's own use; no field may take the name",
        "positional_args": "internal: positional and `%`-arguments, counted in `dropped`",
    }
)

#: Every key (not family) that can appear at the top level of a record
#: safelog writes, apart from declared fields and request fields.
RECORD_KEYS: frozenset[str] = frozenset(k.name for k in KEYS if not k.name.endswith("*"))

#: Keys a policy may not declare and call arguments cannot override.
RESERVED: frozenset[str] = frozenset({k.name for k in KEYS if k.reserved} | set(INPUTS))

#: Keys of a cut record, in the order they are kept while they fit.
CUT_KEEP_FIRST: tuple[str, ...] = tuple(
    k.name
    for k in sorted(KEYS, key=lambda k: -1 if k.cut_rank is None else k.cut_rank)
    if k.cut_rank is not None
)

#: The request fields of the framework integrations (`safelog.asgi`,
#: `safelog.wsgi`, `safelog.django`, `safelog.celery`,
#: `safelog.aws_lambda`) -> what they hold. Not reserved: a policy may
#: declare one to narrow it.
REQUEST_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "request_id": "The incoming request id header if it is a valid Id, else a fresh one.",
        "trace_id": "The W3C / OpenTelemetry trace id (32 hex digits) of a valid trace header.",
        "span_id": "The W3C / OpenTelemetry span id (16 hex digits) of a valid trace header.",
        "xray_trace_id": "The AWS X-Ray trace id of a valid X-Ray header.",
        "method": "The request's HTTP method, one of the standard methods.",
        "route": "The route template the router matched (`/pages/{page_id}`), never the "
        "path; `<unmatched>` or `<rejected:route>` otherwise.",
        "status": "The response's HTTP status, 100 to 599.",
        "duration_ms": "Time spent handling the request, ms.",
        "response_size": "Bytes of response body sent.",
        "request_id_rejected": "true: the incoming request id was not a valid Id and was replaced.",
        "trace_rejected": "true: an incoming trace header was malformed and ignored.",
        "task_name": "The Celery task's registered name (a name of code), or "
        "`<rejected:task_name>`.",
        "task_id": "The Celery task id, if it is Id-shaped.",
        "task_state": "The Celery state the task ended in (SUCCESS, FAILURE, RETRY...).",
        "retries": "The Celery retries so far.",
        "runtime_ms": "The task's run time, ms.",
        "aws_request_id": "The Lambda invocation id.",
        "function_name": "The Lambda function name, if it has the shape AWS gives it.",
        "function_version": "The Lambda function version: `$LATEST` or a number.",
        "cold_start": "true on the first invocation of this Lambda environment.",
        "remaining_ms": "Lambda time left at the start of the invocation, ms.",
        "event_type": "The JSON type of the Lambda event (object, array, string...), never "
        "its content.",
    }
)
