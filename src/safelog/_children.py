"""
Exceptions that end a `multiprocessing` child, reported as metadata.

When a child's ``run()`` raises, CPython's ``BaseProcess._bootstrap`` writes
``Process <name>:`` and ``traceback.print_exc()`` to the child's stderr: the
process name and the exception message, both possibly customer content, in
raw text. A ``SystemExit`` whose code is not an int has its text written the
same way. With safelog configured in the parent, every child started after
`install` instead sends one record through safelog's chain (event
``child_process_exception``, the exception's type and frames, never its
message) and ends with exit code 1, as CPython's report would have.

How the child learns of it, per start method:

- **fork**: the child inherits this module's state; a
  ``multiprocessing.util.register_after_fork`` callback, which
  ``_bootstrap`` runs before ``run()``, wraps the child's ``run``.
- **spawn, forkserver**: the child unpickles its ``Process`` object, and a
  ``Process`` carries a copy of its parent's ``current_process()._config``,
  made when the ``Process`` is created. `install` puts a small marker there;
  unpickling it in the child imports this module and registers the same
  after-fork callback. So every ``Process`` (and ``Pool`` worker, and
  grandchild) created after `configure` is covered, whether or not the main
  module imports safelog. A forkserver child runs after-fork callbacks like
  a forked one; a spawned child does not (``SpawnProcess._after_fork`` is a
  no-op), so in a spawned child only, the marker makes that method call
  this module's callback. Both are private parts of ``multiprocessing``,
  unchanged from Python 3.10 to 3.13; the tests run every start method on
  each version.

In a spawned child that never configures safelog itself, the record goes
through the unconfigured default chain (stderr, no fields).
"""

from __future__ import annotations

import logging
import sys

from collections.abc import Callable
from typing import Any

from ._chain import current_chain
from .processors import CallOrigin


__all__ = ["install"]

#: The key of safelog's marker in ``multiprocessing``'s inherited config.
CONFIG_KEY = "safelog_child_reports"
_LOGGER = "multiprocessing"

#: How long a child waits for its sinks to take the report; None: off.
_flush_timeout: float | None = None
_registered = False


class _Anchor:
    """Kept alive for good: ``register_after_fork`` holds its object weakly."""


_anchor = _Anchor()


class ChildReports:
    """
    The marker a ``Process`` carries to spawned and forkserver children;
    unpickling it there turns the reports on in the child.
    """

    __slots__ = ("flush_timeout",)

    def __init__(self, flush_timeout: float) -> None:
        self.flush_timeout = flush_timeout

    def __reduce__(self) -> tuple[Callable[[float], ChildReports], tuple[float]]:
        return (_arrive, (self.flush_timeout,))


def _arrive(flush_timeout: float) -> ChildReports:
    """Runs in the child while it unpickles its ``Process``: must not raise."""
    try:
        _enable(flush_timeout)
        _run_in_spawned_children()
    except Exception:  # noqa: BLE001, S110 -- a failure here would kill the child raw
        pass
    return ChildReports(flush_timeout)


def _run_in_spawned_children() -> None:
    from multiprocessing import context

    spawn_process: Any = getattr(context, "SpawnProcess", None)
    if spawn_process is None or getattr(spawn_process, "_safelog_after_fork", False):
        return
    previous = spawn_process.__dict__.get("_after_fork")
    if not isinstance(previous, staticmethod):
        return
    original = previous.__func__

    def after_spawn() -> None:
        original()
        _in_child(_anchor)

    # Only ever in a spawned child's own interpreter, which is about to run
    # exactly one Process: CPython's _bootstrap calls this just before run().
    spawn_process._after_fork = staticmethod(after_spawn)
    spawn_process._safelog_after_fork = True


def _enable(flush_timeout: float) -> None:
    global _flush_timeout, _registered  # noqa: PLW0603 -- this module's own switch
    from multiprocessing import util

    _flush_timeout = flush_timeout
    if not _registered:
        util.register_after_fork(_anchor, _in_child)
        _registered = True


def _in_child(_anchor: object) -> None:
    """After-fork callback: wrap the starting child's ``run``."""
    timeout = _flush_timeout
    if timeout is None:
        return
    import multiprocessing

    proc = multiprocessing.current_process()
    run = proc.run
    if getattr(run, "__safelog_reported__", False):
        return
    # An instance attribute: only this child's own Process object changes.
    proc.run = _reporting(run, timeout)  # type: ignore[method-assign]


def _reporting(run: Callable[[], None], timeout: float) -> Callable[[], None]:
    def run_reported() -> None:
        try:
            run()
        except SystemExit as exc:
            code: Any = exc.code
            if code is None or isinstance(code, int):
                raise
            # CPython would write the code's text to stderr.
            _report(sys.exc_info(), timeout)
            raise SystemExit(1) from None
        except BaseException:  # noqa: BLE001 -- CPython would print any of them
            _report(sys.exc_info(), timeout)
            # An int code: _bootstrap exits 1 without printing anything.
            raise SystemExit(1) from None

    run_reported.__safelog_reported__ = True  # type: ignore[attr-defined]
    return run_reported


def _report(exc_info: object, timeout: float) -> None:
    # Never prints, never raises: the child is ending either way.
    try:
        chain = current_chain()
        if chain.min_level > logging.ERROR:
            return
        origin = CallOrigin((_LOGGER, sys._getframe()))
        chain.run(origin, "error", {"event": "child_process_exception", "exc_info": exc_info})
        # A forked child ends in os._exit(): no atexit flush will run.
        chain.dispatcher.flush(timeout)
    except BaseException:  # noqa: BLE001, S110
        pass


def install(flush_timeout: float) -> Callable[[], None]:
    """
    Report escaping exceptions of ``multiprocessing`` children started from
    now on; return the function that turns it off again.
    """
    import multiprocessing

    _enable(flush_timeout)
    config = getattr(multiprocessing.current_process(), "_config", None)
    marker = ChildReports(flush_timeout)
    if type(config) is dict:
        config[CONFIG_KEY] = marker

    def restore() -> None:
        global _flush_timeout  # noqa: PLW0603
        _flush_timeout = None
        if type(config) is dict and config.get(CONFIG_KEY) is marker:
            del config[CONFIG_KEY]

    return restore
