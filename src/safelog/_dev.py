"""
The development console: aligned, coloured records for a developer's own
terminal, with the reasons behind every drop.

It is a view of the production record, never a second record: the chain
still renders the one JSON line every sink gets, and the dev console shows
that line readably, plus what only a developer at their own terminal may see
-- the *names* of dropped fields when the name is written in the calling code
(a name that came from data shows as `MARKER_NAME_FROM_DATA`), the reason for
each drop, and the exception's message. None of that is in the line, so none
of it reaches CloudWatch or any other sink.

Two stages feed it, both on the thread that logs: `DevCapture` (just before
`PolicyFilter`) remembers the raw call, `DevExplainer` (just before the
renderer) compares it with the finished record and leaves the notes for
`DevConsoleSink.write`, which the dispatcher calls on the same thread. With
the dev console off, none of this is in the chain.

It must never run where logs ship: `refusal` names the reason to refuse
(a CloudWatch sink, a managed runtime detected from its environment).
"""

from __future__ import annotations

import enum
import os
import sys
import threading

from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

import orjson

from . import _callsite
from ._sinks import ConsoleSink
from .policy import Kind
from .processors import MARKER_EVENT, CallOrigin, StdlibOrigin


__all__ = [
    "MANAGED_RUNTIMES",
    "MARKER_NAME_FROM_DATA",
    "DevCapture",
    "DevConsoleSink",
    "DevExplainer",
    "DevNotes",
    "Drop",
    "DropReason",
    "dev_from_env",
    "managed_runtime",
    "refusal",
]

#: Shown (on the dev console only) instead of a dropped key that is not an
#: identifier written in the calling code: ``log.info("x", **form_data)``.
MARKER_NAME_FROM_DATA = "<name-from-data>"

#: Environment variables that mean "this process runs where logs ship", and
#: the runtime each names. The dev console refuses to start if any is set.
MANAGED_RUNTIMES: tuple[tuple[str, str], ...] = (
    ("AWS_LAMBDA_FUNCTION_NAME", "AWS Lambda"),
    ("AWS_EXECUTION_ENV", "an AWS managed runtime (Lambda, ECS, App Runner, ...)"),
    ("ECS_CONTAINER_METADATA_URI_V4", "Amazon ECS"),
    ("ECS_CONTAINER_METADATA_URI", "Amazon ECS"),
    ("AWS_BATCH_JOB_ID", "AWS Batch"),
    ("KUBERNETES_SERVICE_HOST", "Kubernetes"),
    ("K_SERVICE", "Google Cloud Run"),
    ("GAE_ENV", "Google App Engine"),
    ("FUNCTIONS_WORKER_RUNTIME", "Azure Functions"),
    ("WEBSITE_SITE_NAME", "Azure App Service"),
    ("DYNO", "Heroku"),
)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def dev_from_env(environ: Mapping[str, str]) -> bool | None:
    """
    ``SAFELOG_DEV`` as a bool (None: unset or empty). Raises ValueError, with
    a message naming the variable and never its value, for anything else.
    """
    raw = environ.get("SAFELOG_DEV")
    if raw is None or raw.strip() == "":
        return None
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    msg = "SAFELOG_DEV: must be 1/true/yes/on or 0/false/no/off"
    raise ValueError(msg)


def managed_runtime(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The first managed-runtime variable set in *environ*, and its runtime."""
    for name, runtime in MANAGED_RUNTIMES:
        if environ.get(name):
            return name, runtime
    return None


def refusal(*, cloudwatch: bool, environ: Mapping[str, str]) -> str | None:
    """
    Why the dev console must not start here (a `ConfigurationError`
    message: names of options and variables, never values), or None.
    """
    if cloudwatch:
        return (
            "dev: the development console cannot run with a CloudWatch sink (it shows "
            "what must never ship); remove dev=True or SAFELOG_DEV, or the cloudwatch option"
        )
    found = managed_runtime(environ)
    if found is not None:
        name, runtime = found
        return (
            f"dev: the development console refuses to run under {runtime} ({name} is set), "
            "where console output is shipped; remove dev=True or SAFELOG_DEV from this "
            "deployment"
        )
    return None


class DropReason(enum.Enum):
    """Why a value did not reach the record."""

    UNDECLARED = "undeclared"
    WRONG_KIND = "wrong kind"
    POSITIONAL = "positional argument"
    EXTRA = "stdlib extra="
    NON_CONSTANT_EVENT = "non-constant event"


@dataclass(frozen=True)
class Drop:
    """One dropped or rejected value: its shown name, the reason, a detail."""

    name: str
    reason: DropReason
    detail: str = ""


@dataclass(frozen=True)
class DevNotes:
    """What the dev console adds to one record: drops, and the exception's text."""

    drops: tuple[Drop, ...] = ()
    exception: str | None = None
    #: Which record these notes belong to (see `record_key`): a record held
    #: back and written later (buffering) must not show another's notes.
    key: tuple[Any, ...] = ()


def record_key(record: Mapping[str, Any]) -> tuple[Any, ...]:
    """What identifies one record between the chain and the dev console."""
    return tuple(record.get(k) for k in ("timestamp", "level", "event", "function", "line"))


class _Pending(threading.local):
    raw: Mapping[str, Any] | None = None
    notes: DevNotes | None = None


_pending = _Pending()


class DevCapture:
    """Remember the raw call (a reference, never changed) for `DevExplainer`."""

    __slots__ = ()

    def __call__(self, logger: Any, method_name: str, event_dict: dict[str, Any]) -> Any:
        _pending.raw = event_dict
        _pending.notes = None
        return event_dict


class DevExplainer:
    """Compare the raw call with the finished record; leave notes for the dev console."""

    __slots__ = ("_kinds",)

    def __init__(self, kinds: Mapping[str, Kind]) -> None:
        # A copy: the policy is frozen, but this stage must not follow a
        # mapping someone else holds.
        self._kinds = dict(kinds)

    def __call__(self, logger: Any, method_name: str, record: dict[str, Any]) -> Any:
        raw = _pending.raw
        _pending.raw = None
        if raw is not None:
            try:
                _pending.notes = explain(raw, record, logger, self._kinds)
            except Exception:  # noqa: BLE001 -- the dev view must never cost the record
                _pending.notes = None
        return record


def explain(
    raw: Mapping[str, Any], record: Mapping[str, Any], origin: Any, kinds: Mapping[str, Kind]
) -> DevNotes:
    """The drops of one call, by name and reason, and its exception's text."""
    frame, filename = _origin_frame(origin)
    drops: list[Drop] = []
    if record.get("event") == MARKER_EVENT and raw.get("event") is not None:
        drops.append(Drop("event", DropReason.NON_CONSTANT_EVENT, "not a literal of the code"))
    for key, value in raw.items():
        if key in ("event", "exc_info", "stack_info"):
            continue
        if key == "positional_args" and type(value) is tuple:
            drops.extend(_positional(value, origin, frame, filename))
            continue
        kind = kinds.get(key) if type(key) is str else None
        if kind is not None:
            if record.get(key) == kind.marker:
                drops.append(Drop(key, DropReason.WRONG_KIND, f"not a valid {kind.kind_name}"))
            continue
        drops.append(Drop(_shown_name(key, frame, filename), DropReason.UNDECLARED))
    return DevNotes(tuple(drops), _exception_text(raw.get("exc_info")), record_key(record))


def _origin_frame(origin: Any) -> tuple[Any, str | None]:
    if type(origin) is CallOrigin and len(origin) == 2:
        return origin[1], None
    if type(origin) is StdlibOrigin:
        pathname = getattr(origin.record, "pathname", None)
        return origin.frame, pathname if type(pathname) is str else None
    return None, None


def _shown_name(key: object, frame: Any, filename: str | None) -> str:
    """*key* if it is an identifier written in the calling code, else the marker."""
    if (
        type(key) is str
        and len(key) <= 64  # longer is not a name anyone wrote
        and key.isidentifier()
        and key.isascii()
        and _callsite.is_code_literal(key, frame, filename)
    ):
        return key
    return MARKER_NAME_FROM_DATA


def _positional(
    values: tuple[Any, ...], origin: Any, frame: Any, filename: str | None
) -> list[Drop]:
    if type(origin) is StdlibOrigin:
        args = getattr(origin.record, "args", None)
        n_args = len(args) if type(args) is tuple else (1 if args else 0)
        out = [Drop(f"#{i + 1}", DropReason.POSITIONAL) for i in range(min(n_args, len(values)))]
        # After the args come extra= keys that are reserved names (event,
        # level, ...): they never pass. Other extra= keys are fields.
        out += [
            Drop(_shown_name(k, frame, filename), DropReason.EXTRA, "a reserved name")
            for k in values[n_args:]
        ]
        return out
    return [Drop(f"#{i + 1}", DropReason.POSITIONAL) for i in range(len(values))]


_MAX_MESSAGE = 2000


def _exception_text(exc_info: object) -> str | None:
    """``Type: message`` of the logged exception, for the dev console only."""
    exc: object = None
    if exc_info is True:
        exc = sys.exc_info()[1]
    elif isinstance(exc_info, BaseException):
        exc = exc_info
    elif type(exc_info) is tuple and len(exc_info) == 3:  # (type, value, tb)
        exc = exc_info[1]
    if not isinstance(exc, BaseException):
        return None
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 -- a __str__ that raises
        message = "<str() failed>"
    return _printable(message[:_MAX_MESSAGE])


def _printable(text: str) -> str:
    # The dev console is a terminal: control characters could move the
    # cursor, recolour or hide lines. Show them escaped instead.
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


# -- the sink -----------------------------------------------------------------

_RESET = "\x1b[0m"
_DIM = "\x1b[2m"
_BOLD = "\x1b[1m"
_CYAN = "\x1b[36m"
_YELLOW = "\x1b[33m"
_MAGENTA = "\x1b[35m"
_LEVEL_COLOURS = {
    "debug": "\x1b[34m",
    "info": "\x1b[32m",
    "warning": "\x1b[33m",
    "error": "\x1b[31m",
    "critical": "\x1b[1;31m",
}
#: Keys shown in their own column or not at all on the console.
_LAID_OUT = frozenset(
    {"timestamp", "level", "event", "logger", "module", "function", "line", "service", "host"}
)
_LAID_OUT |= {"pid", "error", "stack", "dropped"}
_EVENT_WIDTH = 28


def _use_colour(stream: Any) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        return bool(stream.isatty())
    except Exception:  # noqa: BLE001
        return False


class DevConsoleSink(ConsoleSink):
    """
    The console, for a developer's terminal: one readable record per call
    (time, level, event, fields, call site), the drops by name and reason,
    and exceptions as a traceback of names and lines with their message.
    Writing is `ConsoleSink`'s (re-entrant, fork- and stdio-guard-aware);
    only the text differs.
    """

    __slots__ = ("_colour",)

    def __init__(self, stream: IO[str] | None = None, *, colour: bool | None = None) -> None:
        super().__init__(stream)
        self._colour = colour

    def write(self, line: str) -> None:
        try:
            colour = self._colour
            if colour is None:
                colour = _use_colour(self._stream if self._stream is not None else sys.stderr)
            record = orjson.loads(line)
            # The notes of the record being written were left on this thread,
            # unless this record was held back and is written later (buffering):
            # then they belong to another record, which is written after it.
            notes = _pending.notes
            if notes is not None and notes.key == record_key(record):
                _pending.notes = None
            else:
                notes = None
            text = render(record, notes, colour=colour)
        except Exception:  # noqa: BLE001 -- never raise into the caller; show the line as is
            text = line
        super().write(text)


def render(record: Mapping[str, Any], notes: DevNotes | None, *, colour: bool) -> str:
    """One record as the dev console shows it."""

    def paint(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    stamp = str(record.get("timestamp") or "")[11:23]
    level = str(record.get("level") or "")
    # The line's JSON escaped control characters; parsed back they are real
    # again, so everything shown from the record goes through _printable.
    event = _printable(str(record.get("event") or ""))
    fields = "  ".join(
        f"{paint(_CYAN, str(k))}={_value(v)}" for k, v in record.items() if k not in _LAID_OUT
    )
    site = _printable(
        ":".join(
            str(record.get(k)) for k in ("module", "function", "line") if record.get(k) is not None
        )
    )
    logger = _printable(str(record.get("logger") or ""))
    where = f"{logger} {site}" if logger and logger != record.get("module") else site
    head = (
        f"{paint(_DIM, stamp)} {paint(_LEVEL_COLOURS.get(level, ''), f'{level:<8}')} "
        f"{paint(_BOLD, f'{event:<{_EVENT_WIDTH}}')} {fields}"
    ).rstrip()
    lines = [f"{head}  {paint(_DIM, '[' + where + ']')}" if where else head]
    indent = " " * 13
    if notes is not None and notes.drops:
        shown = ", ".join(
            f"{d.name} ({d.reason.value}{': ' + d.detail if d.detail else ''})" for d in notes.drops
        )
        lines.append(f"{indent}{paint(_YELLOW, 'dropped')} {shown}")
    elif record.get("dropped"):
        lines.append(f"{indent}{paint(_YELLOW, 'dropped')} {record['dropped']} value(s)")
    error = record.get("error")
    if isinstance(error, Mapping):
        lines += _traceback(error, notes, indent, paint)
    stack = record.get("stack")
    if isinstance(stack, list):
        lines.append(f"{indent}Stack (most recent call last):")
        lines += [f"{indent}  {_frame(f)}" for f in stack if isinstance(f, Mapping)]
    return "\n".join(lines)


def _traceback(
    error: Mapping[str, Any], notes: DevNotes | None, indent: str, paint: Any
) -> list[str]:
    lines = [f"{indent}Traceback (most recent call last):"]
    frames = error.get("frames")
    if isinstance(frames, list):
        lines += [f"{indent}  {_frame(f)}" for f in frames if isinstance(f, Mapping)]
    exc_type = _printable(str(error.get("type") or "?"))
    message = notes.exception if notes is not None else None
    if message:
        lines.append(
            f"{indent}{paint(_MAGENTA, exc_type)}: {message}  "
            + paint(_DIM, "(message: dev console only, never shipped)")
        )
    else:
        lines.append(f"{indent}{paint(_MAGENTA, exc_type)}")
    cause = error.get("cause") or error.get("context")
    if isinstance(cause, Mapping):
        lines.append(f"{indent}caused by {cause.get('type')}")
    return lines


def _frame(frame: Mapping[str, Any]) -> str:
    return _printable(f"{frame.get('module')}.{frame.get('function')} line {frame.get('line')}")


def _value(value: Any) -> str:
    if isinstance(value, str):
        return _printable(value) if value and " " not in value else repr(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return orjson.dumps(value).decode()
