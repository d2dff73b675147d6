"""
Exceptions to metadata: the exception's type and where it happened, nothing
else.

Never the message, ``args``, ``__notes__``, attributes, locals or ``repr()``:
each of those routinely carries customer content (``KeyError(key)``,
``int("...")``, pydantic's ``input_value=``).
"""

from __future__ import annotations

import sys

from types import FrameType
from typing import Any


__all__ = ["exception_record", "qualified_type_name", "stack_record"]

_MAX_STACK = 64


def qualified_type_name(tp: type) -> str:
    """``module.QualName`` of a class: a name of code, never of data."""
    module = getattr(tp, "__module__", None)
    qualname = getattr(tp, "__qualname__", None)
    if type(qualname) is not str:
        qualname = "<unknown>"
    if type(module) is not str or module == "builtins":
        return qualname
    return f"{module}.{qualname}"


def _normalise(exc_info: Any) -> BaseException | None:
    if exc_info is True:
        exc_info = sys.exc_info()
    if isinstance(exc_info, BaseException):
        return exc_info
    if type(exc_info) is tuple and len(exc_info) == 3:
        value = exc_info[1]
        if isinstance(value, BaseException):
            return value
    return None


def exception_record(exc_info: Any) -> dict[str, Any] | None:
    """Return ``{"type": ...}`` for *exc_info*, or None if there is none."""
    exc = _normalise(exc_info)
    if exc is None:
        return None
    return {"type": qualified_type_name(type(exc))}


def stack_record(frame: FrameType | None) -> list[dict[str, Any]]:
    """The current stack from *frame* outwards, as module/function/line."""
    out: list[dict[str, Any]] = []
    f = frame
    while f is not None and len(out) < _MAX_STACK:
        code = f.f_code
        module = f.f_globals.get("__name__")
        out.append(
            {
                "module": module if type(module) is str else None,
                "function": getattr(code, "co_qualname", code.co_name),
                "line": f.f_lineno,
            }
        )
        f = f.f_back
    return out


