"""
Call sites and the "is this string a constant from code?" check.

An event name (or a stdlib message template) is trusted only if it is a
string literal written in the source of the code that logs it. We check that
against the literals the compiler put into the calling code object, then
against every literal of the calling module (so ``EVENT = "x"`` at module
level and ``log.info(EVENT)`` works). A string built at runtime --
``f"user_{account_id}"``, ``"a" + b``, ``tmpl % args`` -- is in neither pool,
however identifier-like it looks.

Both pools are computed once and cached; the per-call cost is a frame walk of
a few hops and one set lookup.
"""

from __future__ import annotations

import sys
import threading

from pathlib import Path
from types import CodeType, FrameType
from typing import Any


# Frames of these packages are the logging machinery, not the call site.
_INFRA = ("safelog", "structlog", "logging")
_INFRA_DOTTED = tuple(p + "." for p in _INFRA)

_code_pools: dict[int, tuple[CodeType, frozenset[str]]] = {}
_file_pools: dict[str, frozenset[str]] = {}
_lock = threading.Lock()
# Bounds keep dynamically generated code (exec in a loop) from growing the
# caches without limit; clearing only costs a recomputation.
_MAX_CODE_POOLS = 8192
_MAX_FILE_POOLS = 2048

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


def _collect(code: CodeType, out: set[str], seen: set[int]) -> None:
    if id(code) in seen:
        return
    seen.add(id(code))
    stack: list[Any] = list(code.co_consts)
    while stack:
        c = stack.pop()
        t = type(c)
        if t is str:
            out.add(c)
        elif t is tuple or t is frozenset:
            stack.extend(c)
        elif t is CodeType:
            _collect(c, out, seen)


def _code_literals(code: CodeType) -> frozenset[str]:
    out: set[str] = set()
    stack: list[Any] = list(code.co_consts)
    while stack:
        c = stack.pop()
        t = type(c)
        if t is str:
            out.add(c)
        elif t is tuple or t is frozenset:
            stack.extend(c)
    return frozenset(out)


def code_pool(code: CodeType) -> frozenset[str]:
    """The string literals of one code object (not of nested functions)."""
    hit = _code_pools.get(id(code))
    # The cached entry holds the code object itself, so its id cannot be
    # reused by another object while the entry lives.
    if hit is not None and hit[0] is code:
        return hit[1]
    pool = _code_literals(code)
    with _lock:
        if len(_code_pools) >= _MAX_CODE_POOLS:
            _code_pools.clear()
        _code_pools[id(code)] = (code, pool)
    return pool


class CodeInfo:
    """What the chain needs to know about one calling code object, cached."""

    __slots__ = ("code", "function", "lines", "module", "pool")

    def __init__(self, frame: FrameType) -> None:
        from .tracebacks import MARKER_NAME, function_name_of, module_name_of

        code = frame.f_code
        self.code = code
        self.pool = code_pool(code)
        # exec'd or generated code can carry any text in __name__ and
        # co_qualname: a module name is shown only if it is loaded, a function
        # name only if it is code of its source file (tracebacks checks both).
        module = module_name_of(frame)
        self.module: str | None = None if module == MARKER_NAME else module
        function = function_name_of(frame)
        self.function: str | None = None if function == MARKER_NAME else function
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


def _module_code(filename: str, globals_: dict[str, Any] | None) -> CodeType | None:
    if globals_ is not None:
        loader = globals_.get("__loader__")
        get_code = getattr(loader, "get_code", None)
        name = globals_.get("__name__")
        if get_code is not None and type(name) is str:
            try:
                code = get_code(name)
            except Exception:  # noqa: BLE001 -- any loader failure: fall back
                code = None
            if isinstance(code, CodeType) and code.co_filename == filename:
                return code
    try:
        source = Path(filename).read_bytes()
        return compile(source, filename, "exec", dont_inherit=True)
    except Exception:  # noqa: BLE001 -- no readable source: no module pool
        return None


def file_pool(filename: str, globals_: dict[str, Any] | None = None) -> frozenset[str]:
    """Every string literal in the module compiled from *filename*."""
    pool = _file_pools.get(filename)
    if pool is not None:
        return pool
    code = _module_code(filename, globals_)
    out: set[str] = set()
    if code is not None:
        _collect(code, out, set())
    pool = frozenset(out)
    with _lock:
        if len(_file_pools) >= _MAX_FILE_POOLS:
            _file_pools.clear()
        _file_pools[filename] = pool
    return pool


def is_code_literal(text: str, frame: FrameType | None, filename: str | None = None) -> bool:
    """
    Whether *text* (an exact `str`) is a literal of the calling code.

    *frame* is the call site; *filename* is used when the frame is unknown
    (a stdlib record handled on another thread).
    """
    if frame is not None:
        info = code_info(frame)
        if text in info.pool:
            return True
        return text in file_pool(info.code.co_filename, frame.f_globals)
    if filename:
        return text in file_pool(filename)
    return False


def clear_caches() -> None:
    """Forget every cached pool (tests, and code reloaded at runtime)."""
    with _lock:
        _code_pools.clear()
        _code_infos.clear()
        _file_pools.clear()
        _file_functions.clear()
        _file_modules.clear()


_file_functions: dict[str, frozenset[str]] = {}
_file_modules: dict[str, str | None] = {}


def file_functions(filename: str | None, globals_: dict[str, Any] | None = None) -> frozenset[str]:
    """The names (and qualified names) of every function and class in *filename*."""
    if not filename:
        return frozenset()
    names = _file_functions.get(filename)
    if names is not None:
        return names
    code = _module_code(filename, globals_)
    found: set[str] = {"<module>"}
    stack: list[Any] = [code] if code is not None else []
    while stack:
        c = stack.pop()
        found.add(c.co_name)
        found.add(getattr(c, "co_qualname", c.co_name))
        stack.extend(x for x in c.co_consts if type(x) is CodeType)
    names = frozenset(found)
    with _lock:
        if len(_file_functions) >= _MAX_FILE_POOLS:
            _file_functions.clear()
        _file_functions[filename] = names
    return names


def module_for_file(filename: str) -> str | None:
    """The name of the loaded module compiled from *filename*, if any."""
    if filename in _file_modules:
        return _file_modules[filename]
    found = None
    for name, mod in list(sys.modules.items()):
        if getattr(mod, "__file__", None) == filename:
            found = name
            break
    with _lock:
        if len(_file_modules) >= _MAX_FILE_POOLS:
            _file_modules.clear()
        _file_modules[filename] = found
    return found


def is_module_literal(text: str, module: object) -> bool:
    """Whether *text* is a string literal in the source of loaded *module*."""
    mod = sys.modules.get(module) if type(module) is str else None
    filename = getattr(mod, "__file__", None)
    if type(filename) is not str:
        return False
    return text in file_pool(filename, getattr(mod, "__dict__", None))
