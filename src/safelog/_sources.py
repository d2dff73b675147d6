"""
What is a source file of code, and what it holds: its literals, its
functions and classes, its length, the module loaded from it.

A **source file of code** exists on disk (or is the archive of a zip
import, or a frozen stdlib module) and was last written *before* safelog was
imported in this process. Not code the team wrote, so its literals and names
count for nothing:

- code compiled at runtime from a string (``compile(text, "<rule>",
  "exec")``), whatever pseudo-file name it carries and whether or not
  something registered its text in `linecache`;
- a module whose source file was written while the service ran (generated
  from data, then imported), wherever it lives;
- a module made in memory (``types.ModuleType(name)``).

A **literal** of such a file is a string constant the compiler stores when it
compiles the file *as it is on disk*, never a constant of whatever code
object claims that file name.

Every answer is cached with a bound, so generated code cannot grow memory
without limit; clearing a cache only costs a recomputation.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
import time

from pathlib import Path
from types import CodeType, ModuleType
from typing import Any


__all__ = [
    "STARTED",
    "clear_caches",
    "code_literals",
    "file_functions",
    "file_line_count",
    "file_pool",
    "is_code_module",
    "is_source_of_code",
    "module_for_file",
]

#: Source files written at or after this instant are not code the team wrote
#: (see `is_source_of_code`). Taken when safelog is first imported, which a
#: service does at startup, before it serves anything a customer sends.
STARTED = time.time()

_MAX_CACHE = 4096
_MAX_FILE_POOLS = 2048
# Re-entrant: a signal handler that logs can interrupt this thread inside
# it; re-created in a forked child (a fork while another thread held it).
_lock = threading.RLock()


def _after_fork_in_child() -> None:
    global _lock  # noqa: PLW0603
    _lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
_trusted_files: dict[str, bool] = {}
_file_pools: dict[str, frozenset[str]] = {}
_file_functions: dict[str, frozenset[str]] = {}
_file_lines: dict[str, int] = {}
_file_modules: dict[str, str | None] = {}
_code_modules: dict[int, tuple[ModuleType, bool]] = {}


def bounded_put(cache: dict[Any, Any], key: object, value: object, bound: int) -> None:
    """Store *value* in *cache*, emptying it first when it reached *bound*."""
    with _lock:
        if len(cache) >= bound:
            cache.clear()
        cache[key] = value


def clear_caches() -> None:
    """Forget every cached answer (tests, and files changed on purpose)."""
    with _lock:
        for cache in (
            _trusted_files,
            _file_pools,
            _file_functions,
            _file_lines,
            _file_modules,
            _code_modules,
        ):
            cache.clear()


def is_source_of_code(filename: object) -> bool:
    """
    Whether *filename* (a ``co_filename`` or ``__file__``) is a source file
    the team wrote: a frozen stdlib module, or a regular file on disk (for a
    zip import, the archive) last modified before safelog was imported.

    One pseudo-file is code: ``<string>`` in a process started as ``python
    -c COMMAND``, whose source is that command line (an operator typed it);
    its literals are the command's own, whatever else is compiled under the
    same name.

    Not code: ``<string>`` otherwise, ``<rule>`` and every other pseudo-file
    of code compiled at runtime (whether or not something put it into
    `linecache`), a file that does not exist, and a file written while the
    process ran -- a module generated from data and then imported.
    """
    if type(filename) is not str or not filename:
        return False
    hit = _trusted_files.get(filename)
    if hit is not None:
        return hit
    if filename.startswith("<frozen ") and filename.endswith(">"):
        # Stdlib modules compiled into the interpreter: code, not data.
        verdict = filename[8:-1].replace(".", "").replace("_", "").isalnum()
    elif filename == _COMMAND_FILE:
        verdict = command_source() is not None
    elif filename.startswith("<"):
        verdict = False
    else:
        verdict = _written_before_start(filename)
    bounded_put(_trusted_files, filename, verdict, _MAX_FILE_POOLS)
    return verdict


def _written_before_start(filename: str) -> bool:
    path = Path(filename)
    # A module imported from a zip archive is named inside it
    # (".../app.zip/pkg/mod.py"): the archive is the file on disk.
    for _ in range(32):
        try:
            st = path.stat()
        except OSError:
            if path.parent == path:
                return False
            path = path.parent
            continue
        return stat.S_ISREG(st.st_mode) and st.st_mtime < STARTED
    return False


_COMMAND_FILE = "<string>"


def command_source() -> str | None:
    """The ``COMMAND`` of ``python -c COMMAND`` that started this process, if it was one."""
    argv = getattr(sys, "orig_argv", None) or []
    if not sys.argv or sys.argv[0] != "-c":
        return None
    i = 1
    while i < len(argv) - 1:
        arg = argv[i]
        # "-c", or flags run together before it ("-Ic", "-Bc").
        if arg == "-c" or (arg.startswith("-") and arg[1:].isalpha() and arg.endswith("c")):
            command = argv[i + 1]
            return command if type(command) is str else None
        if not arg.startswith("-"):
            return None
        # Options that take a separate value ("-X dev", "-W error").
        i += 2 if arg in ("-X", "-W") else 1
    return None


def _module_code(filename: str, globals_: dict[str, Any] | None) -> CodeType | None:
    """The code compiled from *filename* as it is on disk, or None."""
    if not is_source_of_code(filename):
        return None
    if filename == _COMMAND_FILE:
        command = command_source()
        try:
            return None if command is None else compile(command, filename, "exec")
        except Exception:  # noqa: BLE001 -- not compilable: no pool
            return None
    if globals_ is not None:
        # The loader's own code (zip imports, sourceless deployments), if it
        # compiles the same file.
        loader = globals_.get("__loader__")
        get_code = getattr(loader, "get_code", None)
        name = globals_.get("__name__")
        if get_code is not None and type(name) is str and type(loader).__module__ in _LOADERS:
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


# The standard loaders read the file they were given; a loader of another
# module (a plugin system's) could make code from anything, so it is not asked.
_LOADERS = frozenset({"importlib._bootstrap_external", "_frozen_importlib_external", "zipimport"})


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


def code_literals(code: CodeType) -> frozenset[str]:
    """The string constants of one code object (not of nested functions)."""
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


def file_pool(filename: str, globals_: dict[str, Any] | None = None) -> frozenset[str]:
    """Every string literal of the source file of code *filename* (empty if it is none)."""
    pool = _file_pools.get(filename)
    if pool is not None:
        return pool
    code = _module_code(filename, globals_)
    out: set[str] = set()
    if code is not None:
        _collect(code, out, set())
    pool = frozenset(out)
    bounded_put(_file_pools, filename, pool, _MAX_FILE_POOLS)
    return pool


def file_functions(filename: str | None, globals_: dict[str, Any] | None = None) -> frozenset[str]:
    """The names (and qualified names) of every function and class in *filename*."""
    if not filename:
        return frozenset()
    names = _file_functions.get(filename)
    if names is not None:
        return names
    code = _module_code(filename, globals_)
    found: set[str] = set()
    stack: list[Any] = [code] if code is not None else []
    while stack:
        c = stack.pop()
        found.add(c.co_name)
        found.add(getattr(c, "co_qualname", c.co_name))
        stack.extend(x for x in c.co_consts if type(x) is CodeType)
    names = frozenset(found)
    bounded_put(_file_functions, filename, names, _MAX_FILE_POOLS)
    return names


def file_line_count(filename: object) -> int:
    """How many lines the source file of code *filename* has (0 if it is none)."""
    if type(filename) is not str:
        return 0
    count = _file_lines.get(filename)
    if count is not None:
        return count
    count = 0
    if is_source_of_code(filename) and not filename.startswith("<"):
        try:
            with open(filename, "rb") as f:  # noqa: PTH123 -- one streamed read
                count = sum(1 for _ in f)
        except OSError:
            count = 0
    bounded_put(_file_lines, filename, count, _MAX_FILE_POOLS)
    return count


def module_for_file(filename: str) -> str | None:
    """The name of the loaded module of code compiled from *filename*, if any."""
    if filename in _file_modules:
        return _file_modules[filename]
    found = None
    if is_source_of_code(filename):
        for name, mod in list(sys.modules.items()):
            if getattr(mod, "__file__", None) == filename and type(name) is str:
                found = name if all(p.isidentifier() for p in name.split(".")) else None
                break
    bounded_put(_file_modules, filename, found, _MAX_FILE_POOLS)
    return found


def is_code_module(mod: object) -> bool:
    """
    Whether loaded module *mod* is code: built into the interpreter, frozen,
    or loaded from a source file of code. A module made at runtime
    (``types.ModuleType(name)``) or imported from a file generated while the
    process ran is not.
    """
    if not isinstance(mod, ModuleType):
        return False
    hit = _code_modules.get(id(mod))
    if hit is not None and hit[0] is mod:
        return hit[1]
    verdict = _module_is_code(mod)
    bounded_put(_code_modules, id(mod), (mod, verdict), _MAX_CACHE)
    return verdict


def _module_is_code(mod: ModuleType) -> bool:
    ns = mod.__dict__
    filename = ns.get("__file__")
    if type(filename) is str:
        return is_source_of_code(filename)
    name = ns.get("__name__")
    if name in sys.builtin_module_names:
        return True
    if name == "__main__" and command_source() is not None:
        # python -c COMMAND: the command line is the module's source.
        return True
    spec = ns.get("__spec__")
    origin = getattr(spec, "origin", None)
    if origin in ("frozen", "built-in"):
        return True
    # A namespace package has no file of its own; its name is a directory's.
    locations = getattr(spec, "submodule_search_locations", None)
    return origin is None and locations is not None and spec.loader is None  # type: ignore[union-attr]
