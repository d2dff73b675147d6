"""
Call sites and the "is this string a constant from code?" check.

An event name (or a stdlib message template) is trusted only if it is a
string literal written in the source of the code that logs it. We check that
against the literals the compiler put into the calling code object, then
against every literal of the calling module (so ``EVENT = "x"`` at module
level and ``log.info(EVENT)`` works). A string built at runtime --
``f"user_{account_id}"``, ``"a" + b``, ``tmpl % args`` -- is in neither pool,
however identifier-like it looks. A module-level constant of another module
of code, read by name (``from app.events import PAGE_EXPORTED``), passes too.

What counts as a source file and its literals is `_sources`' decision: code
compiled at runtime from a string, or from a file written while the process
ran, has no literals that count.

Both pools are computed once and cached; the per-call cost is a frame walk of
a few hops and one set lookup.
"""

from __future__ import annotations

import os
import sys
import threading

from types import CodeType, FrameType
from typing import Any

from . import _names, _sources


# Frames of these packages are the logging machinery, not the call site.
_INFRA = ("safelog", "structlog", "logging")
_INFRA_DOTTED = tuple(p + "." for p in _INFRA)

_code_pools: dict[int, tuple[CodeType, frozenset[str]]] = {}
# Re-entrant: a signal handler that logs can interrupt this thread inside
# it; re-created in a forked child (a fork while another thread held it).
_lock = threading.RLock()


def _after_fork_in_child() -> None:
    global _lock  # noqa: PLW0603
    _lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
# Bounds keep dynamically generated code (exec in a loop) from growing the
# caches without limit; clearing only costs a recomputation.
_MAX_CODE_POOLS = 8192

_extra_skip: tuple[str, ...] = ()
_infra_cache: dict[str, bool] = {}
_extra_skip_dotted: tuple[str, ...] = ()


def set_skipped_modules(modules: tuple[str, ...]) -> None:
    """Treat *modules* (a service's own logging helpers) as machinery too."""
    global _extra_skip, _extra_skip_dotted  # noqa: PLW0603
    _extra_skip = modules
    _extra_skip_dotted = tuple(m + "." for m in modules)
    _infra_cache.clear()


def is_infra(module: str) -> bool:
    hit = _infra_cache.get(module)
    if hit is None:
        hit = (
            module in _INFRA
            or module.startswith(_INFRA_DOTTED)
            or module in _extra_skip
            or (bool(_extra_skip) and module.startswith(_extra_skip_dotted))
        )
        if len(_infra_cache) < 4096:
            _infra_cache[module] = hit
    return hit


def find_caller(start: FrameType | None = None) -> FrameType | None:
    """Return the first frame, walking outwards, that is not machinery."""
    f: FrameType | None = sys._getframe(1) if start is None else start
    while f is not None:
        name = f.f_globals.get("__name__")
        if type(name) is not str or not is_infra(name):
            return f
        f = f.f_back
    return None


def code_pool(code: CodeType, globals_: dict[str, Any] | None = None) -> frozenset[str]:
    """
    The string literals of one code object (not of nested functions) that
    are literals of its source file as it is on disk.

    The constants of a code object alone prove nothing: code compiled at
    runtime from data (``compile(f"log.info({text!r})", "<rule>", "exec")``,
    or under a real file's name) carries the data as a constant.
    """
    hit = _code_pools.get(id(code))
    # The cached entry holds the code object itself, so its id cannot be
    # reused by another object while the entry lives.
    if hit is not None and hit[0] is code:
        return hit[1]
    pool = _sources.code_literals(code) & _sources.file_pool(code.co_filename, globals_)
    with _lock:
        if len(_code_pools) >= _MAX_CODE_POOLS:
            _code_pools.clear()
        _code_pools[id(code)] = (code, pool)
    return pool


class CodeInfo:
    """What the chain needs to know about one calling code object, cached."""

    __slots__ = ("code", "function", "imported", "lines", "module", "pool")

    def __init__(self, frame: FrameType) -> None:
        code = frame.f_code
        self.code = code
        globals_ = frame.f_globals
        self.pool = code_pool(code, globals_ if type(globals_) is dict else None)
        # exec'd or generated code can carry any text in __name__ and
        # co_qualname: a module name is shown only if it is a loaded module of
        # code, a function name only if it is code of its source file.
        module = _names.module_name_of(frame)
        self.module: str | None = None if module == _names.MARKER_NAME else module
        function = _names.function_name_of(frame)
        self.function: str | None = None if function == _names.MARKER_NAME else function
        #: Constants of other modules this code logged (`_names.imported_constant`).
        self.imported: set[str] = set()
        # f_lineno decodes the line table from its start on every access;
        # caching by instruction offset makes repeat call sites cheap.
        self.lines: dict[int, int | None] = {}


_code_infos: dict[int, CodeInfo] = {}


def code_info(frame: FrameType) -> CodeInfo:
    """The cached `CodeInfo` of *frame*'s code object."""
    code = frame.f_code
    info = _code_infos.get(id(code))
    if info is not None and info.code is code:
        return info
    info = CodeInfo(frame)
    with _lock:
        if len(_code_infos) >= _MAX_CODE_POOLS:
            _code_infos.clear()
        _code_infos[id(code)] = info
    return info


def line_of(frame: FrameType, info: CodeInfo) -> int | None:
    """*frame*'s current line, cached per instruction offset."""
    lasti = frame.f_lasti
    lines = info.lines
    if lasti in lines:
        return lines[lasti]
    line = frame.f_lineno
    if len(lines) < 4096:
        lines[lasti] = line
    return line


def is_code_literal(text: str, frame: FrameType | None, filename: str | None = None) -> bool:
    """
    Whether *text* (an exact `str`) is a literal of the calling code.

    *frame* is the call site; *filename* is used when the frame is unknown
    (a stdlib record handled on another thread).
    """
    if frame is not None:
        info = code_info(frame)
        if text in info.pool or text in info.imported:
            return True
        globals_ = frame.f_globals
        if text in _sources.file_pool(info.code.co_filename, globals_):
            return True
        if _names.imported_constant(text, info.code, globals_):
            if len(info.imported) < 256:
                info.imported.add(text)
            return True
        return False
    if filename:
        return text in _sources.file_pool(filename)
    return False


def clear_caches() -> None:
    """Forget every cached pool (tests, and code reloaded at runtime)."""
    with _lock:
        _code_pools.clear()
        _code_infos.clear()
    _names.clear_caches()
    _sources.clear_caches()


def is_module_literal(text: str, module: object) -> bool:
    """Whether *text* is a string literal in the source of loaded module of code *module*."""
    mod = sys.modules.get(module) if type(module) is str else None
    filename = getattr(mod, "__file__", None)
    if type(filename) is not str or not _sources.is_code_module(mod):
        return False
    return text in _sources.file_pool(filename, getattr(mod, "__dict__", None))
