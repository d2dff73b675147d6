"""
The sanitizing stages, in structlog's processor shape.

Order matters and is fixed by `safelog.configure`::

    merge_contextvars -> PolicyFilter -> EventGuard -> ExceptionSanitizer
      -> JSONLineRenderer

`PolicyFilter` is the trust boundary: it builds a *fresh* record that holds
only built-in keys (stamped with time and level) and declared fields whose
values passed their kind. Every
later stage works on that record and only ever replaces untrusted
placeholders (the raw event, the raw exception) with safe values.

One job past 500 lines on purpose: every stage of that one chain, in one
processor shape, sharing the markers and the carried keys; splitting the
stages apart would separate the trust boundary from the stages that rely
on what it guarantees.
"""

from __future__ import annotations

import enum
import re
import sys
import time

from collections.abc import Mapping
from types import FrameType
from typing import Any

import orjson

from . import _callsite, _context, _sources
from ._hashkey import HashKey
from ._levels import METHOD_TO_LEVEL
from .policy import Cleaner, FieldPolicy
from .tracebacks import exception_record, stack_record


__all__ = [
    "MARKER_EVENT",
    "MARKER_LOGGER",
    "MARKER_UNRENDERABLE",
    "CallOrigin",
    "DropCounts",
    "EventGuard",
    "ExceptionSanitizer",
    "JSONLineRenderer",
    "PolicyFilter",
    "StdlibOrigin",
    "add_log_level",
    "add_timestamp",
    "render_json",
    "render_json_line",
]

#: Replaces an event name that is not a string literal of the calling code.
MARKER_EVENT = "<non-constant-event>"
#: Replaces a logger name that cannot be shown to come from code.
MARKER_LOGGER = "<runtime-logger-name>"
#: Replaces a value the renderer cannot serialise.
MARKER_UNRENDERABLE = "<unrenderable>"

# Keys of the incoming dict that later stages always consume (EventGuard
# replaces "event"; ExceptionSanitizer pops the other two), never fields.
_CARRIED = frozenset({"event", "exc_info", "stack_info"})
_MAX_EVENT_LEN = 256
_LOGGER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")

EventDict = dict[str, Any]


class StdlibOrigin:
    """What a stdlib `logging.LogRecord` tells the chain about its origin."""

    __slots__ = ("frame", "record")

    def __init__(self, record: Any, frame: FrameType | None) -> None:
        self.record = record
        self.frame = frame


#: Where a structlog call came from, handed to the chain as its ``logger``
#: argument: a plain ``(logger name, caller's frame)`` tuple. A side channel
#: on purpose -- nothing in the event dict (call arguments, bound context,
#: contextvars: all untrusted) can pose as it -- and a tuple because one is
#: made per record (a tuple costs a tenth of a slotted instance).
CallOrigin: type[tuple[Any, ...]] = tuple


class DropCounts:
    """
    What the chain dropped, by reason: production's answer to "why is my
    field missing?" without naming anything. A typed object, so a misspelt
    reason is an AttributeError, never a new silent counter. Increments are
    not locked: under heavy threading a count may be low, never high.
    """

    __slots__ = ("non_constant_event", "positional", "undeclared", "wrong_kind")

    #: The reasons, in the order `safelog.stats()` lists them (``dropped_<reason>``).
    REASONS = ("undeclared", "wrong_kind", "positional", "non_constant_event")

    def __init__(self) -> None:
        self.undeclared = 0
        self.wrong_kind = 0
        self.positional = 0
        self.non_constant_event = 0

    def as_stats(self) -> dict[str, int]:
        """The counts as `safelog.stats()` entries: ``dropped_undeclared`` and so on."""
        return {f"dropped_{reason}": getattr(self, reason) for reason in self.REASONS}


class PolicyFilter:
    """
    Build a fresh record holding only declared fields, each cleaned by its
    kind, plus a count of everything dropped.

    The incoming dict is never mutated and never passed on: undeclared keys
    are counted (``dropped``), never named, because keys can be customer data
    (``log.info("x", **form_data)``).
    """

    __slots__ = ("_cleaners", "_context_cleaners", "_markers", "_template", "counts")

    def __init__(
        self,
        policy: FieldPolicy,
        hash_key: HashKey | None = None,
        metadata: Mapping[str, Any] | None = None,
        counts: DropCounts | None = None,
    ) -> None:
        builtin = {name: kind for name, kind in _context.BUILTIN_FIELDS.items() if kind is not None}
        cleaners: dict[str, tuple[str, Cleaner | None]] = {
            # Built-in request fields need no declaration; a declaration of
            # the same name takes precedence.
            name: (name, kind.compile(hash_key))
            for name, kind in builtin.items()
        }
        declared = policy.compile(hash_key)
        cleaners.update(declared)
        # Request context values were validated when bound; a declaration of
        # the same name narrows them further.
        self._context_cleaners: dict[str, Cleaner] = {
            name: entry[1] for name, entry in declared.items() if name in _context.BUILTIN_FIELDS
        }
        #: Drops by reason; shared with `EventGuard` (non-constant events).
        self.counts = counts if counts is not None else DropCounts()
        # Every kind's marker: a value cleaned into one was rejected.
        self._markers = frozenset(
            kind.marker for kind in (*policy.kinds.values(), *builtin.values())
        )
        # Carried keys share the table (cleaner None): one lookup per key.
        # They are reserved, so no declared field can collide with them.
        cleaners.update({k: (k, None) for k in _CARRIED})
        self._cleaners = cleaners
        # Built-in keys first, in a fixed order, so every record reads alike;
        # later stages fill the placeholders.
        template: dict[str, Any] = {
            "timestamp": None,
            "level": None,
            "logger": None,
            "event": None,
            "module": None,
            "function": None,
            "line": None,
        }
        template.update(metadata or {})
        self._template = template

    def update_metadata(self, **values: Any) -> None:
        """Change built-in metadata (the pid after a fork)."""
        self._template.update(values)

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        out = self._template.copy()
        # Stamping time and level here, where the record is built, saves two
        # stages on the hot path; `add_timestamp`/`add_log_level` do the same
        # for chains composed by hand. (`_timestamp` inlined.)
        ms = _time_ns() // 1_000_000
        last = _last
        out["timestamp"] = last[1] if last[0] == ms else _stamp(ms)
        out["level"] = (
            _stdlib_level(logger.record)
            if type(logger) is StdlibOrigin
            else _METHOD_LEVELS.get(method_name, "info")
        )
        cleaners = self._cleaners
        markers = self._markers
        dropped = positional = 0
        for key, value in event_dict.items():
            # A key's own text is never emitted (the policy's name is), so a
            # str subclass with a clever __eq__ cannot smuggle anything out.
            entry = cleaners.get(key)
            if entry is None:
                if key == "positional_args" and type(value) is tuple:
                    positional += len(value)
                else:
                    dropped += 1
                continue
            name, clean = entry
            if clean is None or value is None:
                # None carries no content: a declared field's None is JSON null.
                out[name] = value
                continue
            try:
                cleaned = clean(value)
            except Exception:  # noqa: BLE001 -- a kind must never raise into the caller
                cleaned = MARKER_UNRENDERABLE
            out[name] = cleaned
            if type(cleaned) is str and cleaned in markers:
                self.counts.wrong_kind += 1
        ctx = _current_request()
        if ctx is not None:
            # They win over call arguments of the same name: a record
            # carries its own request's id only.
            cache = ctx.cache
            out.update(
                cache[1] if cache is not None and cache[0] is self else self._clean_context(ctx)
            )
        if dropped or positional:
            out["dropped"] = dropped + positional
            counts = self.counts
            counts.undeclared += dropped
            counts.positional += positional
        return out

    def _clean_context(self, ctx: _context.RequestContext) -> dict[str, Any]:
        cleaners = self._context_cleaners
        cleaned: dict[str, Any] = {}
        for name, value in ctx.fields.items():
            clean = cleaners.get(name)
            if clean is None or value is None:
                cleaned[name] = value
                continue
            try:
                cleaned[name] = clean(value)
            except Exception:  # noqa: BLE001 -- a kind must never raise into the caller
                cleaned[name] = MARKER_UNRENDERABLE
        ctx.cache = (self, cleaned)
        return cleaned


_current_request = _context.current


class EventGuard:
    """
    Keep the event only if it is a string literal of the calling code; add
    the call site (module, function, line) and a trusted logger name.

    Matching an identifier pattern is not enough: ``f"user_{account_id}"``
    looks like an identifier. The event must be among the literals the
    compiler stored for the calling code or its module. `enum.Enum` members
    with string values are accepted as constants too.
    """

    __slots__ = ("counts",)

    def __init__(self, counts: DropCounts | None = None) -> None:
        #: Where non-constant events are counted (the `PolicyFilter`'s counts).
        self.counts = counts if counts is not None else DropCounts()

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        if type(logger) is StdlibOrigin:
            return self._stdlib(logger, event_dict)
        if type(logger) is CallOrigin:
            name, frame = logger
        else:  # structlog's own machinery called us: walk to the call site
            name, frame = getattr(logger, "name", None), _callsite.find_caller()
        if frame is None:
            checked = event_dict["event"] = _checked_event(event_dict.get("event"), None, None)
            if checked is MARKER_EVENT:
                self.counts.non_constant_event += 1
            event_dict["logger"] = _checked_logger_name(name, None, None)
            return event_dict
        info = _callsite.code_info(frame)
        event = event_dict.get("event")
        # Fast path: a literal of the calling function itself.
        if type(event) is not str or event not in info.pool or len(event) > _MAX_EVENT_LEN:
            checked = event_dict["event"] = _checked_event(event, frame, None)
            if checked is MARKER_EVENT:
                self.counts.non_constant_event += 1
        module = info.module
        event_dict["module"] = module
        event_dict["function"] = info.function
        event_dict["line"] = _callsite.line_of(frame, info)
        trusted = _trusted_logger_names.get(name) if type(name) is str else None
        event_dict["logger"] = (
            trusted if trusted is not None else _checked_logger_name(name, frame, module)
        )
        return event_dict

    def _stdlib(self, origin: StdlibOrigin, event_dict: EventDict) -> EventDict:
        record = origin.record
        frame = origin.frame
        # The record may have been made on another thread (QueueHandler) or
        # with stacklevel; then the frame we found is not its call site.
        if frame is not None and (
            frame.f_code.co_filename != record.pathname or frame.f_lineno != record.lineno
        ):
            frame = None
        pathname = record.pathname if type(record.pathname) is str else None
        checked = _checked_event(event_dict.get("event"), frame, pathname)
        if checked is MARKER_EVENT and frame is not None:
            checked = _outer_literal(event_dict.get("event"), frame)
        event_dict["event"] = checked
        if checked is MARKER_EVENT:
            self.counts.non_constant_event += 1
        function = record.funcName if type(record.funcName) is str else None
        if frame is not None:
            # The frame vouches for the call site; the record's own funcName
            # could have been set by a record factory.
            info = _callsite.code_info(frame)
            module, function = info.module, info.function
        else:
            # No frame vouches for this record (another thread, or a record
            # built from data by makeLogRecord): its module and function are
            # shown only if they are names of code in a loaded module's file.
            module = _sources.module_for_file(pathname) if pathname else None
            if module is None or (
                function is not None and function not in _sources.file_functions(pathname)
            ):
                function = None
        event_dict["module"] = module
        event_dict["function"] = function
        event_dict["line"] = _checked_line(record.lineno, frame, pathname)
        event_dict["logger"] = _checked_logger_name(record.name, frame, module, record.pathname)
        return event_dict


def _checked_line(lineno: object, frame: FrameType | None, pathname: str | None) -> int | None:
    """
    A record's line number, if it is a real line of its source file.

    ``makeLogRecord({"lineno": 4111111111111111})`` (or a record factory)
    can put any number there: without a frame that vouches for it, a line
    number is shown only within the length of a source file of code.
    """
    if type(lineno) is not int:
        return None
    if frame is not None:
        # The frame's own line, checked equal to the record's by the caller.
        return lineno
    if lineno < 1 or pathname is None or lineno > _sources.file_line_count(pathname):
        return None
    return lineno


def _checked_event(event: object, frame: FrameType | None, filename: str | None) -> str:
    t = type(event)
    if t is str:
        text: str = event  # type: ignore[assignment]
        if len(text) <= _MAX_EVENT_LEN and _callsite.is_code_literal(text, frame, filename):
            return text
        return MARKER_EVENT
    if isinstance(event, enum.Enum):
        value = event.value
        # A member counts only if its value is a literal of the module that
        # defined the enum: Enum("E", [("A", data)]) builds members from data.
        if (
            type(value) is str
            and len(value) <= _MAX_EVENT_LEN
            and _callsite.is_module_literal(value, type(event).__module__)
        ):
            return value
    return MARKER_EVENT


#: Framework templates assembled at runtime from constants only (so no
#: frame holds them as a literal), written out here: uvicorn's start line,
#: gunicorn's report of a worker killed by SIGKILL.
_ASSEMBLED_TEMPLATES = frozenset(
    {
        "Uvicorn running on %s://%s:%d (Press CTRL+C to quit)",
        "Uvicorn running on %s://[%s]:%d (Press CTRL+C to quit)",
        "Worker (pid:%s) was sent %s! Perhaps out of memory?",
    }
)
#: How many frames above a stdlib call site may hold its template.
_TEMPLATE_DEPTH = 6


def _outer_literal(event: object, frame: FrameType) -> str:
    """
    The template of a framework's logging helper: ``werkzeug._internal._log``,
    ``gunicorn.glogging.Logger.info``, Django's ``log_message`` receive their
    template in a variable, written as a literal a few frames up (werkzeug's
    ``log_request``, gunicorn's arbiter, ``http.server``). A string equal to
    a literal of code on the calling stack is a constant of that code, not
    data; only the template passes, never the ``%``-args.
    """
    if type(event) is not str or len(event) > _MAX_EVENT_LEN:
        return MARKER_EVENT
    if event in _ASSEMBLED_TEMPLATES:
        return event
    f = frame.f_back
    for _ in range(_TEMPLATE_DEPTH):
        if f is None:
            break
        if _callsite.is_code_literal(event, f):
            return event
        f = f.f_back
    return MARKER_EVENT


_trusted_logger_names: dict[str, str] = {}


def _checked_logger_name(
    name: object,
    frame: FrameType | None,
    module: str | None,
    filename: str | None = None,
) -> str | None:
    """
    A logger name is shown if it names a loaded module of code or is a
    literal of the calling code (``getLogger("uvicorn.error")``). Otherwise the marker:
    names built at runtime can hold customer data.
    """
    if name is None:
        return module
    if type(name) is not str:
        return MARKER_LOGGER
    hit = _trusted_logger_names.get(name)
    if hit is not None:
        return hit
    if (
        len(name) <= 200
        and _LOGGER_NAME.match(name) is not None
        and (
            _sources.is_code_module(sys.modules.get(name))
            or name == "root"
            or _callsite.is_code_literal(name, frame, filename)
        )
    ):
        if len(_trusted_logger_names) < 4096:
            _trusted_logger_names[name] = name
        return name
    return MARKER_LOGGER


_LEVELS = METHOD_TO_LEVEL
#: For structlog calls: the level methods, and ``log.metric()`` (see
#: `_metrics`), whose records exist for their metrics. Not for stdlib level
#: names: a custom stdlib level cannot pose as a metric record.
_METHOD_LEVELS = {**METHOD_TO_LEVEL, "metric": "metric"}


def _stdlib_level(record: Any) -> str:
    name = record.levelname
    level = _LEVELS.get(name.lower()) if type(name) is str else None
    if level is None:
        # A custom level's name is not trusted; its number is.
        levelno = record.levelno
        level = f"level{levelno}" if type(levelno) is int else "unknown"
    return level


def add_log_level(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """Set ``level`` from the method name (or the stdlib record's level)."""
    if type(logger) is StdlibOrigin:
        event_dict["level"] = _stdlib_level(logger.record)
    else:
        event_dict["level"] = _METHOD_LEVELS.get(method_name, "info")
    return event_dict


_last_second = -1
_last_prefix = ""
_last: tuple[int, str] = (-1, "")
_time_ns = time.time_ns
_MILLIS = tuple(f".{i:03d}Z" for i in range(1000))


def _timestamp() -> str:
    ms = time.time_ns() // 1_000_000
    last = _last  # one read of one tuple: threads never see a torn pair
    return last[1] if last[0] == ms else _stamp(ms)


def _stamp(ms: int) -> str:
    global _last_second, _last_prefix, _last  # noqa: PLW0603
    sec = ms // 1000
    if sec != _last_second:
        # Formatting the seconds once per second keeps this cheap.
        _last_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        _last_second = sec
    stamp = _last_prefix + _MILLIS[ms - sec * 1000]
    _last = (ms, stamp)
    return stamp


def add_timestamp(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """Set ``timestamp``: UTC, ISO 8601, milliseconds, ``Z``."""
    event_dict["timestamp"] = _timestamp()
    return event_dict


class ExceptionSanitizer:
    """
    Replace ``exc_info``/``stack_info`` with metadata: the exception's type
    and frames, never its message, args, notes or locals.
    """

    __slots__ = ("_render",)

    def __init__(self) -> None:
        self._render = (exception_record, stack_record)

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        exc_info = event_dict.pop("exc_info", None)
        stack_info = event_dict.pop("stack_info", None)
        if exc_info is None and stack_info is None:
            return event_dict
        exception_record, stack_record = self._render
        # A hostile exception must not cost the rest of the record: on any
        # failure here the record keeps its event, call site and fields.
        if exc_info is not None and exc_info is not False:
            try:
                error = exception_record(exc_info)
            except Exception:  # noqa: BLE001
                error = {"type": MARKER_UNRENDERABLE}
            if error is not None:
                event_dict["error"] = error
        try:
            wanted = stack_info is True or (stack_info is not None and bool(stack_info))
        except Exception:  # noqa: BLE001 -- a __bool__ that raises
            wanted = False
        if wanted:
            if type(logger) is StdlibOrigin:
                start = logger.frame
            elif type(logger) is CallOrigin:
                start = logger[1]
            else:
                start = _callsite.find_caller()
            try:
                event_dict["stack"] = stack_record(start)
            except Exception:  # noqa: BLE001
                event_dict["stack"] = MARKER_UNRENDERABLE
        return event_dict


# Code points that are legal JSON but can forge or hide records in a
# terminal or a log viewer: DEL and C1 controls (U+0085 is a line break),
# Unicode line/paragraph separators, bidi marks, embeddings and isolates.
# orjson already escapes U+0000-U+001F.
# Also the invisible format characters (soft hyphen, zero-width joiners and
# spaces, word joiner, BOM, interlinear annotations, tags), which can hide
# text from a reviewer.
_UNSAFE = re.compile(
    "[\x7f-\x9f\xad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"
    "\ufff9-\ufffb\U000e0000-\U000e007f]"
)


def _escape(m: re.Match[str]) -> str:
    cp = ord(m.group())
    if cp > 0xFFFF:
        # JSON escapes code points beyond the BMP as a UTF-16 surrogate pair.
        cp -= 0x10000
        return f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}"
    return f"\\u{cp:04x}"


def render_json(logger: Any, method_name: str, event_dict: Mapping[str, Any]) -> str:
    """
    Render *event_dict* as one JSON line; never raises, never uses ``repr()``.

    Values orjson cannot serialise become `MARKER_UNRENDERABLE`. The
    processor form of `render_json_line` (one call less per record).
    """
    try:
        raw = orjson.dumps(event_dict)
    except (TypeError, orjson.JSONEncodeError):
        raw = orjson.dumps(_renderable(event_dict))
    # DEL is ASCII, so an all-ASCII line still needs the check for it.
    if raw.isascii() and b"\x7f" not in raw:
        return raw.decode("ascii")
    return _UNSAFE.sub(_escape, raw.decode("utf-8"))


def render_json_line(record: Mapping[str, Any]) -> str:
    """Render *record* as one injection-safe JSON line (see `render_json`)."""
    return render_json(None, "", record)


def _renderable(value: Any, depth: int = 0) -> Any:
    t = type(value)
    if t is str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return MARKER_UNRENDERABLE
        return value
    if t in (int, float, bool) or value is None:
        try:
            orjson.dumps(value)
        except orjson.JSONEncodeError:
            return MARKER_UNRENDERABLE
        return value
    if depth < 16 and t is dict:
        return {
            (k if type(k) is str else MARKER_UNRENDERABLE): _renderable(v, depth + 1)
            for k, v in value.items()
        }
    if depth < 16 and (t is list or t is tuple):
        return [_renderable(v, depth + 1) for v in value]
    return MARKER_UNRENDERABLE


class JSONLineRenderer:
    """The last stage: one JSON object per line, injection-safe."""

    __slots__ = ()

    # The function itself, not a method calling it: no extra frame per record.
    __call__ = staticmethod(render_json)
