"""
Exceptions to metadata: the exception's type and where it happened, nothing
else.

Never the message, ``args``, ``__notes__``, attributes, locals, source text,
file paths or ``repr()``: each of those routinely carries customer content
(``KeyError(key)``, ``int("...")``, pydantic's ``input_value=``,
``UnicodeDecodeError.object``). What an error record holds:

- ``type``: the qualified class name (a name of code);
- ``frames``: module, function and line of each frame, outermost first, the
  first `HEAD_FRAMES` and last `TAIL_FRAMES` kept and ``{"omitted": n}``
  standing for the rest;
- ``fingerprint``: a hash of the type and the (module, function) of each kept
  frame, without line numbers, so the same error groups across releases;
- ``cause`` / ``context`` / ``exceptions``: the chain and group members, as a
  bounded, cycle-safe tree of the same shape;
- ``fields`` of a `SafeError`, each checked by its declared kind;
- ``validation`` for a pydantic ``ValidationError``: the model title, and
  each error's ``type`` and ``loc`` (field names only);
- ``errno`` of an `OSError`, an integer.

Every attribute is read through the base class's own descriptor, and the
class through ``type()``, so a hostile subclass that overrides ``__cause__``,
``__traceback__``, ``__class__``, ``__getattr__`` or ``__getattribute__`` is
never consulted. `exception_record` and `stack_record` never raise: whatever
fails inside gives a record marked `MARKER_UNAVAILABLE`, so the log line
keeps its event, call site and fields.

Whether a name (of a class, module, function or pydantic field) is a name of
code is `safelog._names`' decision; this module only asks.

One job, at about 500 lines: the pydantic and `SafeError` parts are small
and use the same bounded, cycle-safe walk as the rest.
"""

from __future__ import annotations

import builtins
import hashlib
import os
import sys

from collections import deque
from collections.abc import Mapping
from pathlib import Path
from types import FrameType, MappingProxyType, TracebackType
from typing import Any, ClassVar

from ._kinds import Scalar
from ._names import (
    MARKER_NAME,
    function_name_of,
    is_dotted_name,
    known_model_names,
    module_name_of,
    qualified_type_name,
)
from .policy import Cleaner, ConfigurationError, Hashed, Kind


__all__ = [
    "HEAD_FRAMES",
    "MAX_TREE_DEPTH",
    "MAX_TREE_NODES",
    "TAIL_FRAMES",
    "SafeError",
    "exception_record",
    "fingerprint",
    "qualified_type_name",
    "stack_record",
]

#: Frames kept from the outer end (where the exception was caught).
HEAD_FRAMES = 10
#: Frames kept from the inner end (where it was raised).
TAIL_FRAMES = 20
#: How deep causes, contexts and group members are followed.
MAX_TREE_DEPTH = 8
#: How many exceptions one record describes at most.
MAX_TREE_NODES = 32
_MAX_MEMBERS = 16
_MAX_VALIDATION_ERRORS = 32
_MAX_LOC = 16

#: Replaces a pydantic ``loc`` part that is not a declared field name.
MARKER_LOC = "<not-a-field>"
#: Stands for what could not be read: the type of an error record, or the
#: module and function of the one frame of a stack record.
MARKER_UNAVAILABLE = "<unavailable>"

# The base classes' own descriptors: a subclass may shadow the attribute
# with a property, these cannot be shadowed.
_TRACEBACK = BaseException.__dict__["__traceback__"]
_CAUSE = BaseException.__dict__["__cause__"]
_CONTEXT = BaseException.__dict__["__context__"]
_SUPPRESS = BaseException.__dict__["__suppress_context__"]
_INSTANCE_DICT = BaseException.__dict__["__dict__"]
_ERRNO = OSError.__dict__["errno"]
_BaseExceptionGroup: type | None = getattr(builtins, "BaseExceptionGroup", None)
_MEMBERS = None if _BaseExceptionGroup is None else _BaseExceptionGroup.__dict__["exceptions"]


def _frame_dict(frame: FrameType, lineno: object) -> dict[str, Any]:
    return {
        "module": module_name_of(frame),
        "function": function_name_of(frame),
        "line": lineno if type(lineno) is int else None,
    }


def fingerprint(type_name: str, frames: list[dict[str, Any]]) -> str:
    """
    16 hex digits identifying an error by its type and the module and
    function of each frame.

    Line numbers are left out on purpose: any edit above the raising line
    moves them, and the same error should group across releases. Runs of the
    same frame (recursion) count once, so the depth a recursion reached does
    not split a group.
    """
    parts = [type_name]
    last = None
    for f in frames:
        if "omitted" in f:
            continue
        key = f"{f['module']}:{f['function']}"
        if key != last:
            parts.append(key)
            last = key
    return hashlib.blake2b("\n".join(parts).encode("utf-8"), digest_size=8).hexdigest()


def _traceback_frames(tb: TracebackType | None) -> list[dict[str, Any]]:
    head: list[TracebackType] = []
    tail: deque[TracebackType] = deque(maxlen=TAIL_FRAMES)
    count = 0
    while tb is not None:
        if count < HEAD_FRAMES:
            head.append(tb)
        else:
            tail.append(tb)
        count += 1
        tb = tb.tb_next
    out = [_frame_dict(t.tb_frame, t.tb_lineno) for t in head]
    omitted = count - len(head) - len(tail)
    if omitted:
        out.append({"omitted": omitted})
    out.extend(_frame_dict(t.tb_frame, t.tb_lineno) for t in tail)
    return out


def stack_record(frame: FrameType | None) -> list[dict[str, Any]]:
    """
    The stack from the outermost frame down to *frame*, as module/function/
    line, capped like a traceback's frames.

    Never raises: if the stack cannot be read, one frame whose module and
    function are `MARKER_UNAVAILABLE` stands for it.
    """
    try:
        return _stack_frames(frame)
    except Exception:  # noqa: BLE001 -- fail closed, never into the caller
        return [{"module": MARKER_UNAVAILABLE, "function": MARKER_UNAVAILABLE, "line": None}]


def _stack_frames(frame: FrameType | None) -> list[dict[str, Any]]:
    frames: list[FrameType] = []
    f = frame
    while f is not None:
        frames.append(f)
        f = f.f_back
    frames.reverse()
    if len(frames) <= HEAD_FRAMES + TAIL_FRAMES:
        return [_frame_dict(f, f.f_lineno) for f in frames]
    out = [_frame_dict(f, f.f_lineno) for f in frames[:HEAD_FRAMES]]
    out.append({"omitted": len(frames) - HEAD_FRAMES - TAIL_FRAMES})
    out.extend(_frame_dict(f, f.f_lineno) for f in frames[-TAIL_FRAMES:])
    return out


# -- opt-in: exceptions whose fields are declared metadata --------------------


_RESERVED_FIELD_NAMES = frozenset(dir(BaseException)) | {"fields"}


class SafeError(Exception):
    """
    An exception whose fields are declared metadata, checked by safelog
    kinds (in the spirit of Palantir's ``SafeLoggable``)::

        class ExportFailed(safelog.SafeError):
            fields = {"stage": safelog.Enum("render", "upload"),
                      "attempt": safelog.Int(min=0)}

        raise ExportFailed(stage="render", attempt=2)

    The declaration is checked when the class is created (a wrong one raises
    `safelog.ConfigurationError`); fields of a base class are inherited.
    Values are keyword-only, readable as attributes (``exc.attempt``) and
    each is cleaned by its kind whenever it is logged or shown, so ``str()``
    of the exception is metadata too. There is no free-text message.
    """

    fields: ClassVar[Mapping[str, Kind]] = MappingProxyType({})
    _safelog_cleaners: ClassVar[Mapping[str, Cleaner]] = MappingProxyType({})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = cls.__dict__.get("fields")
        where = f"{cls.__qualname__}.fields"
        merged: dict[str, Kind] = {}
        for base in reversed(cls.__mro__[1:]):
            inherited = base.__dict__.get("_safelog_cleaners")
            if inherited is not None:
                merged.update(base.__dict__["fields"])
        if declared is not None:
            if not isinstance(declared, Mapping):
                msg = f"{where}: must be a mapping of field name to safelog kind"
                raise ConfigurationError(msg)
            for name, kind in declared.items():
                if type(name) is not str or not name.isidentifier() or name.startswith("_"):
                    msg = f"{where}: names must be identifiers not starting with '_'"
                    raise ConfigurationError(msg)
                if name in _RESERVED_FIELD_NAMES:
                    msg = f"{where}: {name!r} is an exception attribute"
                    raise ConfigurationError(msg)
                if not isinstance(kind, Kind):
                    msg = f"{where}: {name!r} must be a safelog kind such as safelog.Int()"
                    raise ConfigurationError(msg)
                if isinstance(kind, Hashed):
                    # The hash key exists only once configure() ran; a field
                    # that could never be emitted would be a silent trap.
                    msg = f"{where}: {name!r}: Hashed is not supported on exceptions"
                    raise ConfigurationError(msg)
                merged[name] = kind
        # Frozen here: a later change to the class body's dict changes nothing.
        cls.fields = MappingProxyType(merged)
        cls._safelog_cleaners = MappingProxyType({n: k.compile(None) for n, k in merged.items()})

    def __init__(self, **values: object) -> None:
        cleaners = type(self)._safelog_cleaners
        for name in values:
            if name not in cleaners:
                # The name is not echoed: **values may come from data.
                msg = f"{type(self).__qualname__}: an undeclared field was given"
                raise TypeError(msg)
        super().__init__()
        self.__dict__.update(values)

    def safe_fields(self) -> dict[str, Scalar]:
        """The given fields, each cleaned by its declared kind."""
        return _safe_fields(self)

    def __str__(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in _safe_fields(self).items())

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}({self})"


_MISSING = object()


def _safe_fields(exc: SafeError) -> dict[str, Scalar]:
    cls = type(exc)
    cleaners = cls._safelog_cleaners
    values = object.__getattribute__(exc, "__dict__")
    out: dict[str, Scalar] = {}
    for name, clean in cleaners.items():
        value = dict.get(values, name, _MISSING) if type(values) is dict else _MISSING
        if value is _MISSING:
            continue
        try:
            cleaned = clean(value)
        except Exception:  # noqa: BLE001 -- a kind must never raise into the caller
            cleaned = cls.fields[name].marker
        if type(cleaned) not in (str, int, float, bool, type(None)):
            cleaned = "<unrenderable>"
        out[name] = cleaned
    return out


# -- pydantic ------------------------------------------------------------------


def _validation_record(exc: BaseException) -> dict[str, Any] | None:
    core = sys.modules.get("pydantic_core")
    if core is None:
        # pydantic is not imported, so this cannot be one of its errors.
        return None
    base = getattr(core, "ValidationError", None)
    if not isinstance(base, type) or not issubclass(type(exc), base):
        return None
    # The base class's own methods: a subclass's overrides are not called.
    title = base.__dict__["title"].__get__(exc)
    errors = base.__dict__["errors"](
        exc, include_url=False, include_context=False, include_input=False
    )
    pydantic = sys.modules.get("pydantic")
    model = getattr(pydantic, "BaseModel", None) if pydantic is not None else None
    known, titles = (
        known_model_names(model) if isinstance(model, type) else (frozenset(), frozenset())
    )
    out_errors: list[dict[str, Any]] = []
    for err in errors[:_MAX_VALIDATION_ERRORS]:
        etype = err.get("type")
        loc_out: list[Any] = []
        for part in tuple(err.get("loc", ()))[:_MAX_LOC]:
            if type(part) is int or (type(part) is str and (part in known or part == "[key]")):
                loc_out.append(part)
            else:
                # A dict key or union tag: may be customer input.
                loc_out.append(MARKER_LOC)
        out_errors.append(
            {
                "type": etype if type(etype) is str and etype.isidentifier() else MARKER_NAME,
                "loc": loc_out,
            }
        )
    if type(title) is not str or not is_dotted_name(title, code_parts=False) or title not in titles:
        # Not the name of a model of code: a runtime model's title, or a
        # TypeAdapter's type expression.
        title = MARKER_NAME
    record: dict[str, Any] = {"title": title, "errors": out_errors}
    if len(errors) > _MAX_VALIDATION_ERRORS:
        record["errors_omitted"] = len(errors) - _MAX_VALIDATION_ERRORS
    return record


# -- the record ----------------------------------------------------------------


class WarningSite:
    """A warning category and where it was attributed (for ``py.warnings``)."""

    __slots__ = ("category", "function", "line", "module")

    def __init__(self, category: type, module: str, function: str | None, line: int | None) -> None:
        self.category = category
        self.module = module
        self.function = function
        self.line = line


def _normalise(exc_info: Any) -> BaseException | type | None:
    if exc_info is True:
        exc_info = sys.exc_info()
    # type() and issubclass on it: isinstance would consult a hostile
    # object's __class__.
    if issubclass(type(exc_info), BaseException):
        return exc_info  # type: ignore[no-any-return]
    if type(exc_info) is tuple and len(exc_info) == 3:
        value = exc_info[1]
        if issubclass(type(value), BaseException):
            return value  # type: ignore[no-any-return]
        tp = exc_info[0]
        if value is None and issubclass(type(tp), type) and issubclass(tp, BaseException):
            # sys.unraisablehook may pass a type without a value.
            return tp  # type: ignore[no-any-return]
    return None


class _Budget:
    __slots__ = ("nodes", "seen")

    def __init__(self) -> None:
        self.nodes = 0
        self.seen: set[int] = set()


def _node(exc: BaseException, depth: int, budget: _Budget) -> dict[str, Any]:
    type_name = qualified_type_name(type(exc))
    if id(exc) in budget.seen:
        return {"type": type_name, "repeated": True}
    budget.seen.add(id(exc))
    budget.nodes += 1
    frames = _traceback_frames(_TRACEBACK.__get__(exc))
    node: dict[str, Any] = {
        "type": type_name,
        "frames": frames,
        "fingerprint": fingerprint(type_name, frames),
    }
    # issubclass(type(...)): isinstance would consult a hostile __class__.
    cls = type(exc)
    message = _own_message(exc, cls)
    if message is not None:
        node["message"] = message
    if issubclass(cls, SafeError):
        node["fields"] = _safe_fields(exc)  # type: ignore[arg-type]
    elif issubclass(cls, OSError):
        errno = _ERRNO.__get__(exc)
        if type(errno) is int and -(2**31) <= errno < 2**31:
            node["errno"] = errno
    else:
        validation = _validation_record(exc)
        if validation is not None:
            node["validation"] = validation

    cause = _CAUSE.__get__(exc)
    context = None if cause is not None or _SUPPRESS.__get__(exc) else _CONTEXT.__get__(exc)
    members = _group_members(exc, cls)
    if not (cause is not None or context is not None or members):
        return node
    if depth >= MAX_TREE_DEPTH or budget.nodes >= MAX_TREE_NODES:
        node["truncated"] = True
        return node
    if cause is not None:
        node["cause"] = _child(cause, depth, budget)
    if context is not None:
        node["context"] = _child(context, depth, budget)
    if members:
        children = []
        for m in members[:_MAX_MEMBERS]:
            if budget.nodes >= MAX_TREE_NODES:
                break
            children.append(_child(m, depth, budget))
        node["exceptions"] = children
        if len(members) > len(children):
            node["exceptions_omitted"] = len(members) - len(children)
    return node


#: safelog's own errors: their messages are safelog-authored text that names
#: options, never values, so they are shown (the exact classes only: a
#: subclass someone else wrote can carry anything).
OWN_ERRORS: frozenset[type[BaseException]] = frozenset({ConfigurationError})
_PACKAGE_DIR = str(Path(__file__).absolute().parent) + os.sep
_ARGS = BaseException.__dict__["args"]
_MAX_OWN_MESSAGE = 500


def _own_message(exc: BaseException, cls: type) -> str | None:
    """
    The message of an error safelog raised itself, else None. Both must hold:
    the class is one of safelog's own (`OWN_ERRORS`, exactly), and the raise
    happened in safelog's code (the innermost frame of the traceback is in a
    ``safelog`` module loaded from this package) -- so
    ``raise ConfigurationError(data)`` in a service's own code stays a type.
    """
    if cls not in OWN_ERRORS:
        return None
    tb = _TRACEBACK.__get__(exc)
    if type(tb) is not TracebackType:
        return None
    while type(tb.tb_next) is TracebackType:
        tb = tb.tb_next
    frame = tb.tb_frame
    module = frame.f_globals.get("__name__")
    filename = frame.f_code.co_filename
    if not (
        type(module) is str
        and (module == "safelog" or module.startswith("safelog."))
        and type(filename) is str
        and filename.startswith(_PACKAGE_DIR)
        and getattr(sys.modules.get(module), "__file__", None) == filename
    ):
        return None
    args = _ARGS.__get__(exc)
    if type(args) is not tuple or len(args) != 1 or type(args[0]) is not str:
        return None
    return args[0][:_MAX_OWN_MESSAGE]


def _group_members(exc: BaseException, cls: type) -> tuple[BaseException, ...]:
    """The members of a group (builtin, or the ``exceptiongroup`` backport on 3.10)."""
    if _MEMBERS is not None:
        if not issubclass(cls, _BaseExceptionGroup):  # type: ignore[arg-type]
            return ()
        raw = _MEMBERS.__get__(exc)
        return raw if type(raw) is tuple else ()
    # Python 3.10: only a loaded backport can have made a group.
    backport = sys.modules.get("exceptiongroup")
    base = getattr(backport, "BaseExceptionGroup", None) if backport is not None else None
    if not issubclass(type(base), type) or not issubclass(cls, base):  # type: ignore[arg-type]
        return ()
    # The backport keeps the members as a tuple in the instance dict, read
    # there: its ``exceptions`` property, or a subclass's, is not consulted.
    values = _INSTANCE_DICT.__get__(exc)
    raw = dict.get(values, "_exceptions") if type(values) is dict else None
    if type(raw) is not tuple:
        return ()
    return tuple(m for m in raw if issubclass(type(m), BaseException))


def _child(exc: BaseException, depth: int, budget: _Budget) -> dict[str, Any]:
    if budget.nodes >= MAX_TREE_NODES:
        return {"type": qualified_type_name(type(exc)), "truncated": True}
    return _node(exc, depth + 1, budget)


def _warning_record(site: WarningSite) -> dict[str, Any]:
    type_name = qualified_type_name(site.category)
    frames = [{"module": site.module, "function": site.function, "line": site.line}]
    return {"type": type_name, "frames": frames, "fingerprint": fingerprint(type_name, frames)}


def exception_record(exc_info: Any) -> dict[str, Any] | None:
    """
    The error record for *exc_info* (an exception, a ``sys.exc_info()``
    tuple, or True for the exception being handled), or None if there is
    none.

    Never raises: if something inside fails, the record holds the type
    alone, and if even that fails, `MARKER_UNAVAILABLE` as its type.
    """
    try:
        return _record(exc_info)
    except Exception:  # noqa: BLE001 -- fail closed, never into the caller
        return {"type": MARKER_UNAVAILABLE}


def _record(exc_info: Any) -> dict[str, Any] | None:
    if type(exc_info) is WarningSite:
        return _warning_record(exc_info)
    exc = _normalise(exc_info)
    if exc is None:
        return None
    # issubclass(type(...)): isinstance would consult a hostile __class__.
    if issubclass(type(exc), type):
        return {"type": qualified_type_name(exc), "frames": []}  # type: ignore[arg-type]
    try:
        return _node(exc, 0, _Budget())  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 -- fail closed: the type is always safe
        return {"type": qualified_type_name(type(exc)), "truncated": True}
