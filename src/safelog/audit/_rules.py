"""
The audit's rules: what a stored record may hold to be metadata only.

Pure predicates, applied by `safelog.audit._checker.RecordChecker`: the
rule table, what content looks like, and the judges of declared fields,
built-in keys and request fields. Declared fields are judged by the
*runtime's own* kinds from `safelog.policy` (a stored value passes if the
kind, given it, returns it unchanged, or if it is the kind's marker);
nothing here is a copy of a validator.

Nothing in this module returns, formats or raises anything derived from the
record: a finding is a rule code, so the report built from findings can be
pasted into a ticket.
"""

from __future__ import annotations

import math
import re

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from safelog._context import BUILTIN_FIELDS
from safelog._keys import RECORD_KEYS
from safelog._levels import RECORD_LEVELS
from safelog._numbers import luhn
from safelog.policy import (
    Float,
    Hashed,
    Kind,
)


__all__ = [
    "BUILTIN_JUDGES",
    "BUILTIN_KEYS",
    "CLOUDWATCH_KEY",
    "MARKER_EVENTS",
    "MAX_RECORD_BYTES",
    "NESTED_KEYS",
    "REQUEST_JUDGES",
    "RULES",
    "Rule",
    "emf_directive_ok",
    "event_is_name",
    "is_int",
    "kind_judge",
    "kind_passes",
    "looks_like_content",
]


@dataclass(frozen=True)
class Rule:
    """One audit rule: a code, a short name and fixed texts (never a value)."""

    code: str
    name: str
    summary: str
    fix: str


def _rules(*rules: Rule) -> Mapping[str, Rule]:
    return MappingProxyType({r.code: r for r in rules})


#: Every rule the audit applies, by code.
RULES: Mapping[str, Rule] = _rules(
    Rule(
        "SA101",
        "not-json",
        "the record is not JSON: free text, such as a print() or a plain logging handler",
        "route this writer through safelog, or keep it out of the log group",
    ),
    Rule(
        "SA102",
        "truncated",
        "the record starts as a JSON object but does not parse: cut by a writer that "
        "is not safelog",
        "route this writer through safelog (it cuts oversized records to valid JSON)",
    ),
    Rule(
        "SA103",
        "not-a-record",
        "the record is JSON but not an object in safelog's shape (an object with an event)",
        "route this writer through safelog",
    ),
    Rule(
        "SA104",
        "oversized",
        "the record is larger than CloudWatch's event limit safelog ships within",
        "route this writer through safelog (it cuts records to fit)",
    ),
    Rule(
        "SA201",
        "undeclared-key",
        "a key is neither built-in metadata nor a declared field",
        "declare the field with a kind, or stop logging it",
    ),
    Rule(
        "SA202",
        "wrong-kind",
        "a declared field's value does not pass its kind (the runtime's own validator)",
        "log the field through safelog, which replaces such values by a marker",
    ),
    Rule(
        "SA203",
        "bad-metadata",
        "a built-in key holds a value safelog never writes there",
        "route this writer through safelog",
    ),
    Rule(
        "SA301",
        "unknown-event",
        "the event is not a string constant of the code given with --source, nor a safelog marker",
        "log constant event names; check --source covers every service writing here",
    ),
    Rule(
        "SA302",
        "event-not-a-name",
        "the event looks like a sentence or data, not a name",
        "log a constant event name and pass values as declared fields",
    ),
    Rule(
        "SA401",
        "looks-like-content",
        "a value looks like customer content (e-mail address, card number, URL with a "
        "query, JWT, or a long high-entropy string outside Hashed/Id/Uuid fields)",
        "find the call that writes it; declare the field with a kind that cannot carry it",
    ),
)

#: CloudWatch's largest event (1 MiB less its 26 bytes of overhead); the
#: shipper never sends more, so a larger stored record was written otherwise.
MAX_RECORD_BYTES = 1_048_576 - 26

#: Events safelog itself writes in place of, or beside, the code's events:
#: markers, loss reports and the events of its process hooks (uncaught
#: exceptions, asyncio's handler). A test checks each is still a literal of
#: safelog's source.
MARKER_EVENTS: frozenset[str] = frozenset(
    {
        "<non-constant-event>",
        "<safelog-internal-error>",
        "<unparseable-record>",
        "safelog.cloudwatch.loss",
        "uncaught_exception",
        "uncaught_thread_exception",
        "unraisable_exception",
        "exception_never_retrieved",
        "exception_in_callback",
        "asyncgen_close_failed",
        "task_errored_after_parent_completed",
        "asyncio_exception",
    }
)

# -- shapes of built-in metadata ---------------------------------------------

# The record levels, "metric" (log.metric()) and "unknown" (a stdlib record
# whose level number is not an int).
_LEVELS = RECORD_LEVELS | {"metric", "unknown"}
_LEVEL_N = re.compile(r"level[0-9]{1,3}\Z")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:?[0-9]{2})?\Z"
)
# What configure() accepts as metrics_namespace.
_NAMESPACE = re.compile(r"[A-Za-z0-9._/#: \-]{1,255}\Z")
_INFRA = re.compile(r"[A-Za-z0-9._:\-]{1,64}\Z")
# Names of code: dotted identifiers, with the <locals>/<lambda>/<module>
# parts of qualified names and safelog's own markers.
_CODE_PART = r"(?:[A-Za-z_][A-Za-z0-9_]*|<[a-z-]+>)"
_CODE_NAME = re.compile(rf"{_CODE_PART}(?:\.{_CODE_PART}){{0,63}}\Z")
_FINGERPRINT = re.compile(r"[0-9a-f]{8,64}\Z")
_MARKER = re.compile(r"<[a-z:_-]{1,40}>\Z")
# What `Hashed` emits: "<key id>:<26 base32 characters>". The keyed digest
# cannot be recomputed without the key, so its shape is what is checked.
_HASHED = re.compile(r"[A-Za-z0-9_-]{1,16}:[a-z2-7]{26}\Z")

# -- what content looks like ---------------------------------------------------

# Every quantifier before a literal anchor is bounded: a 1 MB record is
# scanned in linear time, never quadratic.
_EMAIL = re.compile(
    r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,8}\.[A-Za-z]{2,24}"
)
_URL_QUERY = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,30}://[^\s?#]{0,2048}\?[^\s#=]{0,256}=")
_JWT = re.compile(r"eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.")
_DIGITS = re.compile(r"[0-9](?:[ \-]?[0-9]){12,}")
_TOKEN = re.compile(r"[A-Za-z0-9+/_\-=]{24,}")
_TOKEN_ENTROPY = 3.5  # bits per character; English words and names of code stay below

# An event "looks like a name": short, no sentence punctuation at its end,
# no line breaks or quotes, few words. Message templates of stdlib logging
# ("cache miss for %s") pass; prose and data do not.
_MAX_EVENT = 256
_MAX_EVENT_WORDS = 12
_EVENT_CHARS = re.compile(r"[A-Za-z0-9_.:/%<>()\[\], =+\-]+\Z")


def _entropy(text: str) -> float:
    # The first 1,024 characters tell a token from prose; the rest of a
    # long run would only cost time.
    text = text[:1024]
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def _card_in(run: str) -> bool:
    digits = run.replace(" ", "").replace("-", "")[:256]
    n = len(digits)
    return any(
        luhn(digits[i : i + size])
        for size in range(13, min(19, n) + 1)
        for i in range(n - size + 1)
    )


def looks_like_content(text: str) -> bool:
    """Whether *text* looks like customer content (see rule SA401)."""
    # Cheap substring tests first: most values have no '@', '://' or 'eyJ'.
    if "@" in text and _EMAIL.search(text):
        return True
    if "://" in text and _URL_QUERY.search(text):
        return True
    if "eyJ" in text and _JWT.search(text):
        return True
    if any(_card_in(m.group()) for m in _DIGITS.finditer(text)):
        return True
    return any(_entropy(m.group()) >= _TOKEN_ENTROPY for m in _TOKEN.finditer(text))


def event_is_name(event: str) -> bool:
    """Whether *event* looks like a name or template rather than a sentence or data."""
    if not event or len(event) > _MAX_EVENT or not _EVENT_CHARS.match(event):
        return False
    if event.rstrip().endswith((".", "!", "?")) and " " in event:
        return False
    return len(event.split()) <= _MAX_EVENT_WORDS


# -- kinds -------------------------------------------------------------------


_SCALARS = (str, int, float, bool, type(None))


def kind_judge(kind: Kind) -> Callable[[object], bool]:
    """
    The predicate deciding whether a stored value is what *kind* emits:
    the runtime's own compiled validator returns it unchanged (numbers
    compared by value, since JSON does not keep int and float apart for
    Float), or it is the kind's marker.
    """
    marker = kind.marker
    if isinstance(kind, Hashed):
        # Without the key the runtime validator can only fail closed; the
        # pseudonym's shape is what can be checked.
        match = _HASHED.match

        def hashed(value: object) -> bool:
            return type(value) is str and (value == marker or match(value) is not None)

        return hashed
    clean = kind.compile(None)
    if isinstance(kind, Float):  # Duration too

        def number(value: object) -> bool:
            t = type(value)
            if t is int or t is float:
                out = clean(value)
                return type(out) is float and out == value
            return value == marker and t is str

        return number

    def judged(value: object) -> bool:
        t = type(value)
        if t not in _SCALARS:
            return False
        out = clean(value)
        return (type(out) is t and out == value) or (t is str and value == marker)

    return judged


def kind_passes(kind: Kind, value: object) -> bool:
    """Whether a stored *value* passes *kind* (see `kind_judge`)."""
    return kind_judge(kind)(value)


# -- the checker ---------------------------------------------------------------

_ERROR_KEYS = frozenset(
    {
        "type",
        "frames",
        "fingerprint",
        "fields",
        "errno",
        "validation",
        "cause",
        "context",
        "exceptions",
        "exceptions_omitted",
        "truncated",
        "repeated",
    }
)
_FRAME_KEYS = frozenset({"module", "function", "line"})
#: Keys that can appear inside built-in structures (error, stack, EMF).
NESTED_KEYS: frozenset[str] = (
    _ERROR_KEYS
    | _FRAME_KEYS
    | {"omitted", "title", "errors", "loc", "errors_omitted"}
    | {"Timestamp", "CloudWatchMetrics", "Namespace", "Dimensions", "Metrics", "Name", "Unit"}
)
CLOUDWATCH_KEY = re.compile(r"cloudwatch_[a-z_]{1,40}\Z")


def is_int(value: object) -> bool:
    return type(value) is int


def _is_name(value: object) -> bool:
    return type(value) is str and _CODE_NAME.match(value) is not None


def _is_line(value: object) -> bool:
    return value is None or (type(value) is int and value >= 0)


def emf_directive_ok(directive: object) -> bool:
    if type(directive) is not dict or set(directive) - {"Namespace", "Dimensions", "Metrics"}:
        return False
    namespace = directive.get("Namespace")
    if type(namespace) is not str or _NAMESPACE.match(namespace) is None:
        return False
    dims = directive.get("Dimensions", [])
    if type(dims) is not list or not all(
        type(d) is list and all(_is_name(n) for n in d) for d in dims
    ):
        return False
    metrics = directive.get("Metrics")
    if type(metrics) is not list:
        return False
    for m in metrics:
        if type(m) is not dict or set(m) - {"Name", "Unit", "StorageResolution"}:
            return False
        if not _is_name(m.get("Name")):
            return False
        unit = m.get("Unit")
        if unit is not None and not (type(unit) is str and _INFRA.match(unit.replace("/", "."))):
            return False
    return True


def _frames_ok(value: object) -> bool:
    if type(value) is not list:
        return False
    for frame in value:
        if type(frame) is not dict:
            return False
        if set(frame) == {"omitted"}:
            if not is_int(frame["omitted"]):
                return False
            continue
        if set(frame) != _FRAME_KEYS:
            return False
        if not (
            _is_name(frame["module"]) and _is_name(frame["function"]) and _is_line(frame["line"])
        ):
            return False
    return True


def _scalar_ok(value: object) -> bool:
    # SafeError fields are checked by their kinds at runtime; stored, they
    # must at least be scalars that do not look like content.
    if type(value) is str:
        return len(value) <= 256 and not looks_like_content(value)
    return value is None or type(value) in (int, float, bool)


def _error_ok(node: dict[str, Any], depth: int) -> bool:
    if depth > 16 or set(node) - _ERROR_KEYS or not _is_name(node.get("type")):
        return False
    for key, value in node.items():
        if key == "frames":
            ok = _frames_ok(value)
        elif key == "fingerprint":
            ok = type(value) is str and _FINGERPRINT.match(value) is not None
        elif key in ("errno", "exceptions_omitted"):
            ok = is_int(value)
        elif key in ("truncated", "repeated"):
            ok = value is True
        elif key in ("cause", "context"):
            ok = type(value) is dict and _error_ok(value, depth + 1)
        elif key == "exceptions":
            ok = type(value) is list and all(
                type(v) is dict and _error_ok(v, depth + 1) for v in value
            )
        elif key == "fields":
            ok = type(value) is dict and all(
                type(k) is str and _CODE_NAME.match(k) and _scalar_ok(v) for k, v in value.items()
            )
        elif key == "validation":
            ok = _validation_ok(value)
        else:  # "type", checked above
            ok = True
        if not ok:
            return False
    return True


def _validation_ok(value: object) -> bool:
    if type(value) is not dict or set(value) - {"title", "errors", "errors_omitted"}:
        return False
    if not _is_name(value.get("title")):
        return False
    errors = value.get("errors")
    if type(errors) is not list:
        return False
    for err in errors:
        if type(err) is not dict or set(err) != {"type", "loc"} or not _is_name(err["type"]):
            return False
        loc = err["loc"]
        if type(loc) is not list or not all(
            type(p) is int or (type(p) is str and (_is_name(p) or p == "[key]" or _MARKER.match(p)))
            for p in loc
        ):
            return False
    return "errors_omitted" not in value or is_int(value["errors_omitted"])


def _is_infra(value: object) -> bool:
    return type(value) is str and _INFRA.match(value) is not None


#: Built-in key (`safelog._keys`) -> what safelog writes there: the rules
#: and the Insights engine's allowed keys both use it.
BUILTIN_JUDGES: Mapping[str, Callable[[object], bool]] = MappingProxyType(
    {
        # The event's own rules (SA301, SA302) are applied apart.
        "event": lambda v: type(v) is str,
        "timestamp": lambda v: type(v) is str and _TIMESTAMP.match(v) is not None,
        "level": lambda v: type(v) is str and (v in _LEVELS or _LEVEL_N.match(v) is not None),
        "logger": _is_name,
        "module": _is_name,
        "function": _is_name,
        "safelog_error": _is_name,
        "service": _is_infra,
        "environment": _is_infra,
        "host": lambda v: v is None or _is_infra(v),
        "pid": is_int,
        "dropped": is_int,
        "safelog_cut": is_int,
        "line": _is_line,
        "error": lambda v: type(v) is dict and _error_ok(v, 0),
        "stack": lambda v: v == "<unrenderable>" or _frames_ok(v),
        # A held record emitted on its scope's error (debug buffering).
        "buffered": lambda v: v is True,
        "sampling_rate": lambda v: (
            isinstance(v, (int, float)) and type(v) is not bool and 0 <= v <= 1
        ),
        # Judged as a whole by RecordChecker._emf.
        "_aws": lambda _: True,
    }
)


#: Top-level keys safelog writes into every record, or into some (with the
#: ``cloudwatch_*`` counters of its loss reports): from `safelog._keys`, the
#: one table; a test checks that BUILTIN_JUDGES judges exactly these.
BUILTIN_KEYS: frozenset[str] = RECORD_KEYS

# What the integrations write in the request fields that carry no kind
# (`safelog._context.BUILTIN_FIELDS` maps them to None): the shapes the
# integrations check before writing, or their markers.
_ROUTE_TEMPLATE = re.compile(r"[!-~]{1,200}\Z")
_TASK_NAME = re.compile(r"[A-Za-z0-9_.:\-]{1,200}\Z")
_TASK_STATE = re.compile(r"[A-Z_]{1,32}\Z")
_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_\-]{1,140}\Z")
_FUNCTION_VERSION = re.compile(r"(\$LATEST|[0-9]{1,10})\Z")
_EVENT_TYPES = frozenset({"object", "array", "string", "boolean", "number", "null", "other"})


def _shaped(pattern: re.Pattern[str], *markers: str) -> Callable[[object], bool]:
    def judge(value: object) -> bool:
        return type(value) is str and (value in markers or pattern.match(value) is not None)

    return judge


_UNKINDED_JUDGES: Mapping[str, Callable[[object], bool]] = {
    "route": _shaped(_ROUTE_TEMPLATE, "<unmatched>", "<rejected:route>"),
    "task_name": _shaped(_TASK_NAME, "<rejected:task_name>"),
    "task_state": _shaped(_TASK_STATE),
    "function_name": _shaped(_FUNCTION_NAME),
    "function_version": _shaped(_FUNCTION_VERSION),
    "event_type": lambda v: v in _EVENT_TYPES,
}


def _request_judge(name: str, kind: Kind | None) -> Callable[[object], bool]:
    # A KeyError here, at import, means a new kind-less request field has
    # no shape above: the test suite fails at once.
    judge = kind_judge(kind) if kind is not None else _UNKINDED_JUDGES[name]

    def request_field(value: object) -> bool:
        # An integration writes null where the incoming value was unusable.
        return value is None or judge(value)

    return request_field


#: The framework integrations' request fields (`safelog._context.BUILTIN_FIELDS`)
#: -> what they write there; a policy's declaration of the same name wins.
REQUEST_JUDGES: Mapping[str, Callable[[object], bool]] = MappingProxyType(
    {name: _request_judge(name, kind) for name, kind in BUILTIN_FIELDS.items()}
)
