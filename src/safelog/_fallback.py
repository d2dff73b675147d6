"""
What ``import safelog`` installs before `safelog.configure` runs: a safe
path for every record and report Python would otherwise print raw.

Each of these is installed only where Python's own default is still in
place (a handler or hook the service set itself is left alone), and each
loads safelog's runtime only when it first has something to handle, so
``import safelog`` (and ``import safelog.check``) stays light:

- ``logging.lastResort`` (stdlib's prints the interpolated message of a
  record no handler took): a handler that sends the record through the
  current chain -- the safe default before `configure`, JSON on stderr;
- ``sys.excepthook``, ``threading.excepthook``, ``sys.unraisablehook`` and
  ``warnings.showwarning`` (the defaults print exception messages, ``repr``
  of objects and source lines): safelog's hooks (see `_hooks`);
- structlog's defaults (its default chain renders every value to stdout):
  safelog's chain, once structlog is imported, unless the service
  configured structlog itself. If structlog is not imported yet, a finder on
  ``sys.meta_path`` waits for it and removes itself once it fired.

`safelog.configure` replaces each of these by the configured ones;
`safelog.shutdown` puts these back (not Python's raw defaults).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import warnings

from collections.abc import Callable, Sequence
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType, TracebackType
from typing import Any


__all__ = ["FallbackHandler", "install"]


class FallbackHandler(logging.Handler):
    """``logging.lastResort`` before `configure`: the record goes through the current chain."""

    def __init__(self) -> None:
        # As stdlib's lastResort: WARNING and above.
        super().__init__(logging.WARNING)
        self._bridge: Any = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            bridge = self._bridge
            if bridge is None:
                from .stdlib import SafelogHandler

                bridge = self._bridge = SafelogHandler(None)
            bridge.emit(record)
        except Exception:  # noqa: BLE001, S110 -- never raise, never print the record
            pass

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 -- stdlib's name
        # logging's default prints the record's message and args to stderr.
        pass


def _excepthook(
    exc_type: type[BaseException], exc_value: BaseException, exc_tb: TracebackType | None
) -> None:
    with contextlib.suppress(Exception):
        from . import _hooks

        _hooks.excepthook(exc_type, exc_value, exc_tb)


def _threading_excepthook(args: Any) -> None:
    with contextlib.suppress(Exception):
        from . import _hooks

        _hooks.threading_excepthook(args)


def _unraisablehook(unraisable: Any) -> None:
    with contextlib.suppress(Exception):
        from . import _hooks

        _hooks.unraisablehook(unraisable)


def _showwarning(  # noqa: PLR0917 -- warnings.showwarning's signature
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    with contextlib.suppress(Exception):
        from . import _hooks

        _hooks.showwarning(message, category, filename, lineno, file, line)


def _is_stdlib_last_resort(handler: object) -> bool:
    cls = type(handler)
    return cls.__module__ == "logging" and cls.__name__ == "_StderrHandler"


def _is_stdlib_showwarning(fn: object) -> bool:
    return getattr(fn, "__module__", None) == "warnings" and (
        getattr(fn, "__name__", None) == "showwarning"
    )


#: What `install` replaced, by place (for `installed`).
_replaced: list[str] = []


def installed() -> tuple[str, ...]:
    """The places `install` took over at import (``logging.lastResort``, ...)."""
    return tuple(_replaced)


def install() -> None:
    """Install the safe defaults where Python's own are still in place."""
    if _is_stdlib_last_resort(logging.lastResort):
        logging.lastResort = FallbackHandler()
        _replaced.append("logging.lastResort")
    places: tuple[tuple[str, Any, str, object, Callable[..., Any]], ...] = (
        ("sys.excepthook", sys, "excepthook", sys.__excepthook__, _excepthook),
        (
            "threading.excepthook",
            threading,
            "excepthook",
            threading.__excepthook__,
            _threading_excepthook,
        ),
        ("sys.unraisablehook", sys, "unraisablehook", sys.__unraisablehook__, _unraisablehook),
    )
    for where, holder, attr, default, ours in places:
        if getattr(holder, attr, None) is default:
            setattr(holder, attr, ours)
            _replaced.append(where)
    if _is_stdlib_showwarning(warnings.showwarning):
        warnings.showwarning = _showwarning
        _replaced.append("warnings.showwarning")
    _structlog_defaults_when_imported()


# -- structlog ---------------------------------------------------------------


def _configure_structlog() -> None:
    with contextlib.suppress(Exception):
        from ._chain import install_structlog_defaults

        install_structlog_defaults()


class _AfterExec(Loader):
    """Runs the real loader, then safelog's structlog defaults."""

    def __init__(self, loader: Loader) -> None:
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _configure_structlog()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _StructlogWatcher(MetaPathFinder):
    """Waits on ``sys.meta_path`` for ``import structlog``, then leaves."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname != "structlog":
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        from importlib.util import find_spec

        spec = find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _AfterExec(spec.loader)
        return spec


def _structlog_defaults_when_imported() -> None:
    if "structlog" in sys.modules:
        _configure_structlog()
    elif not any(isinstance(f, _StructlogWatcher) for f in sys.meta_path):
        sys.meta_path.insert(0, _StructlogWatcher())
