"""
Which files to check, with which policy, and checking them: parse once,
walk once (`Walker`), judge (`Judge`), then apply suppressions.

A cheap regular expression first finds the lines that can hold a log call;
files with none are not parsed.
"""

from __future__ import annotations

import ast
import os
import re

from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

from safelog import _pyproject

from .ignores import apply_ignores, parse_ignores
from .judge import ConstantLookup, Judge
from .rules import CheckReport, FileResult, Finding
from .walk import CONST, Walker


__all__ = [
    "ModuleConstants",
    "PolicyLookup",
    "analyse_source",
    "check_paths",
    "event_names",
    "iter_python_files",
]

# Lines that can hold a log call: a level/bind method call, a factory with
# keywords, bind_contextvars. Matched on bytes, before parsing.
_CANDIDATE = re.compile(
    rb"\.\s*(?:a?(?:debug|info|warning|warn|error|exception|critical|fatal|log|msg|metric)|bind|new)"
    rb"\s*\(|get_logger|wrap_logger|bind_contextvars|configure\s*\("
)
# Present in a file: walk every expression (bare imported log functions;
# walrus bindings hidden inside expressions).
_FULL_WALK = re.compile(rb"from\s+(?:logging|structlog|safelog)[\w.]*\s+import|:=")


def _char_column(source: bytes, lines: list[bytes] | None, line: int, col: int) -> int:
    if lines is None or line < 1 or line > len(lines):
        return col + 1
    try:
        return len(lines[line - 1][:col].decode("utf-8")) + 1
    except UnicodeDecodeError:
        return col + 1


def analyse_source(
    source: bytes | str,
    path: str = "<string>",
    *,
    fields: Collection[str] | None = None,
    honour_ignores: bool = True,
    constants: ConstantLookup | None = None,
) -> FileResult:
    """
    Check one module's source. *fields* are the declared field names (None:
    no policy known, so field names are not checked). *constants* tells
    whether a name imported from another module is a string constant there
    (None: imported names are never constants).
    """
    data = source.encode("utf-8") if isinstance(source, str) else source
    result = FileResult()
    has_ignore = b"safelog:" in data
    matches = [m.start() for m in _CANDIDATE.finditer(data)]
    full_walk = _FULL_WALK.search(data) is not None
    if not matches and not has_ignore and not full_walk:
        return result
    try:
        tree = ast.parse(data, filename=path)
    except (SyntaxError, ValueError) as exc:
        # The error's own text may quote the source: only the position is kept.
        line = getattr(exc, "lineno", None) or 1
        result.findings.append(Finding(path, line, 1, "SL900"))
        return result
    result.parsed = True
    lines: list[int] | None = None
    if not full_walk:
        lines = []
        last_pos, last_line = 0, 1
        for pos in matches:
            last_line += data.count(b"\n", last_pos, pos)
            last_pos = pos
            lines.append(last_line)
    walker = Walker(lines)
    walker.run(tree)
    judge = Judge(walker, None if fields is None else frozenset(fields), constants)
    judge.run()
    result.log_call_lines = judge.log_call_lines
    result.events = judge.events
    if not judge.found and not has_ignore:
        return result
    raw: list[tuple[int, int, str]]
    if has_ignore and honour_ignores:
        raw = apply_ignores(judge.found, parse_ignores(data.decode("utf-8", "replace")))
    else:
        raw = [(line, col, code) for line, col, code, _ in judge.found]
    split = data.splitlines() if raw else None
    result.findings = sorted(
        Finding(path, line, _char_column(data, split, line, col), code) for line, col, code in raw
    )
    return result


_SKIP_DIRS = frozenset({"__pycache__", "node_modules"})


def iter_python_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """
    Every ``.py`` file under *paths*, sorted, without duplicates. Hidden
    directories, ``__pycache__``, ``node_modules`` and virtualenvs found while
    recursing are skipped; a path given explicitly is always used.
    """
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found: list[Path] = []
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames[:] = sorted(
                    d
                    for d in dirnames
                    if not d.startswith(".")
                    and d not in _SKIP_DIRS
                    and not (Path(dirpath, d, "pyvenv.cfg").exists())
                )
                found.extend(Path(dirpath, f) for f in filenames if f.endswith(".py"))
            files = sorted(found)
        else:
            files = [p]
        for f in files:
            if f not in seen:
                seen.add(f)
                yield f


class ModuleConstants:
    """
    The module-level string constants of modules a checked file imports
    from, found on disk next to it (its package, or a directory above it,
    or ``src/`` there), each file parsed once. A module that cannot be found
    has no constants: its names stay SL105.
    """

    _MAX_UP = 8

    def __init__(self) -> None:
        self._by_file: dict[Path, frozenset[str]] = {}

    def lookup_for(self, path: Path) -> ConstantLookup:
        """The lookup for names imported by the module in *path*."""
        here = path.resolve().parent

        def lookup(module: str, level: int, name: str) -> bool:
            found = self._find(here, module, level)
            return found is not None and name in self._constants(found)

        return lookup

    def _find(self, here: Path, module: str, level: int) -> Path | None:
        parts = module.split(".")
        if not all(p.isidentifier() for p in parts):
            return None
        if level:
            ups = [here, *here.parents]
            if level > len(ups):
                return None
            bases = [ups[level - 1]]
        else:
            ups = [here, *list(here.parents)[: self._MAX_UP]]
            bases = [b for up in ups for b in (up, up / "src")]
        for base in bases:
            stem = base.joinpath(*parts)
            for candidate in (stem.with_suffix(".py"), stem / "__init__.py"):
                if candidate.is_file():
                    return candidate
        return None

    def _constants(self, path: Path) -> frozenset[str]:
        hit = self._by_file.get(path)
        if hit is not None:
            return hit
        names: frozenset[str] = frozenset()
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (OSError, SyntaxError, ValueError):
            tree = None
        if tree is not None:
            walker = Walker([])
            walker.run(tree)
            bindings = walker.module_scope.bindings
            names = frozenset(n for n, kind in bindings.items() if kind == CONST)
        self._by_file[path] = names
        return names


class PolicyLookup:
    """Finds (once per directory) the declared field names for a file."""

    def __init__(self, pyproject: str | os.PathLike[str] | None) -> None:
        self._load = _pyproject.load
        self._find = _pyproject.find_pyproject
        self._fixed: frozenset[str] | None = None
        self._by_dir: dict[Path, frozenset[str] | None] = {}
        self._by_file: dict[Path, frozenset[str] | None] = {}
        self.explicit = pyproject is not None
        if pyproject is not None:
            found = self._load(pyproject)
            if found is None:
                msg = "--pyproject: the file has no [tool.safelog] table"
                raise LookupError(msg)
            self._fixed = frozenset(found.fields.kinds)

    def fields_for(self, path: Path) -> frozenset[str] | None:
        if self.explicit:
            return self._fixed
        directory = path.parent if path.parent != Path() else Path.cwd()
        if directory in self._by_dir:
            return self._by_dir[directory]
        pyproject = self._find(directory.resolve())
        result: frozenset[str] | None = None
        if pyproject is not None:
            if pyproject not in self._by_file:
                found = self._load(pyproject)
                self._by_file[pyproject] = None if found is None else frozenset(found.fields.kinds)
            result = self._by_file[pyproject]
        self._by_dir[directory] = result
        return result


def check_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    pyproject: str | os.PathLike[str] | None = None,
    honour_ignores: bool = True,
    on_file: Callable[[Path, FileResult], Any] | None = None,
) -> CheckReport:
    """
    Check every Python file under *paths*. The policy comes from *pyproject*
    if given, else from the nearest ``pyproject.toml`` above each file.

    Raises:
        FileNotFoundError: a path does not exist.
        LookupError: *pyproject* has no ``[tool.safelog]`` table.
        safelog.ConfigurationError: a policy file is malformed.
    """
    paths = list(paths)
    for p in paths:
        if not Path(p).exists():
            raise FileNotFoundError(os.fspath(p))
    policies = PolicyLookup(pyproject)
    modules = ModuleConstants()
    findings: list[Finding] = []
    files = 0
    without_policy = 0
    for path in iter_python_files(paths):
        files += 1
        fields = policies.fields_for(path)
        if fields is None:
            without_policy += 1
        try:
            data = path.read_bytes()
        except OSError:
            findings.append(Finding(str(path), 1, 1, "SL900"))
            continue
        result = analyse_source(
            data,
            str(path),
            fields=fields,
            honour_ignores=honour_ignores,
            constants=modules.lookup_for(path),
        )
        findings.extend(result.findings)
        if on_file is not None:
            on_file(path, result)
    return CheckReport(sorted(findings), files, without_policy)


def event_names(paths: Iterable[str | os.PathLike[str]]) -> frozenset[str]:
    """
    The event names the code under *paths* can log: the string constants
    ``safelog check`` accepts as events of the log calls it recognises.

    Raises:
        FileNotFoundError: a path does not exist.
    """
    paths = list(paths)
    for p in paths:
        if not Path(p).exists():
            raise FileNotFoundError(os.fspath(p))
    found: set[str] = set()
    for path in iter_python_files(paths):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        # The policy does not matter for events: the walk runs without one.
        found |= analyse_source(data, str(path), honour_ignores=False).events
    return frozenset(found)
