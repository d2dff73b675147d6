"""
The life of the process around the configuration: interpreter exit, SIGTERM
and fork. The configuration owns these, not a sink: this module calls every
sink's ``flush``/``close`` and its optional fork hooks.

- **Exit** (`configure` registers `flush_at_exit`; `import safelog`
  registers `close_at_exit`, which atexit runs later): flush first, and never
  put stdlib's handlers or hooks back. Records logged while the interpreter
  exits (atexit callbacks registered before `configure`, ``__del__``
  finalizers, daemon threads) still go through the chain: sanitized, shipped
  if the deadline allows, else counted by the sink.
- **SIGTERM**: the handler only records the request and starts a flusher
  thread (``_thread.start_new_thread``: no Python-level lock, nothing waits
  for it). The flusher flushes every sink within ``shutdown_timeout``, closes
  them (what is still unsent is counted), puts back the previous disposition
  of SIGTERM and raises it again, so the process ends as it would have
  without safelog.
- **Fork**: every sink's ``before_fork``/``after_fork_in_parent``/
  ``after_fork_in_child`` runs around ``os.fork()``; the child gets its own
  pid in the metadata and its own dispatcher lock.

Only the standard library and `_state` are imported here: `import safelog`
loads this module, and it must stay light.
"""

from __future__ import annotations

import _thread
import atexit
import contextlib
import os
import signal
import sys
import threading
import time

from collections.abc import Callable
from typing import Any

from . import _state


__all__ = [
    "close_at_exit",
    "flush_at_exit",
    "install_sigterm",
    "on_configure",
    "on_shutdown",
    "sigterm_installed",
]

_DEFAULT_TIMEOUT = 5.0

#: monotonic() time by which exit work must be done; set by the first exit step.
_exit_deadline: float | None = None
#: The timeout of the last configuration: exit and SIGTERM honour it even
#: after `shutdown` ran (the fallback state has no timeout of its own).
_timeout = _DEFAULT_TIMEOUT


def _dispatchers() -> list[Any]:
    states = (_state.current(), _state.fallback())
    return [state.chain.dispatcher for state in states if state is not None]


def _sinks() -> list[Any]:
    return [sink for d in _dispatchers() for sink in d.sinks]


def _drain_parked() -> None:
    # Records parked at the recursion limit (see `_chain.drain_parked`);
    # only if the runtime was loaded at all -- this module stays light.
    chain = sys.modules.get("safelog._chain")
    drain = getattr(chain, "drain_parked", None)
    if callable(drain):
        with contextlib.suppress(Exception):
            drain()


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.0)


def _exit_deadline_now() -> float:
    global _exit_deadline  # noqa: PLW0603 -- this module owns it
    if _exit_deadline is None:
        _exit_deadline = time.monotonic() + _timeout
    return _exit_deadline


def flush_at_exit() -> None:
    """First exit step (registered by `configure`): flush, change nothing else."""
    deadline = _exit_deadline_now()
    _drain_parked()
    for dispatcher in _dispatchers():
        with contextlib.suppress(Exception):
            dispatcher.flush(_left(deadline))


def close_at_exit() -> None:
    """
    Last exit step (registered when safelog is imported, so atexit runs it
    after the callbacks registered since): flush what was logged meanwhile
    and close every sink within what is left of the deadline. The chain, the
    root handler and the hooks stay: a record logged later still goes through
    the chain, and a sink that can no longer deliver it counts it.
    """
    deadline = _exit_deadline_now()
    _drain_parked()
    for dispatcher in _dispatchers():
        with contextlib.suppress(Exception):
            dispatcher.flush(_left(deadline))
    for dispatcher in _dispatchers():
        with contextlib.suppress(Exception):
            dispatcher.close(_left(deadline))


def on_configure(shutdown_timeout: float) -> None:
    """`configure` installed a state: exit handling follows its timeout."""
    global _timeout  # noqa: PLW0603 -- this module owns it
    _timeout = shutdown_timeout
    # atexit runs newest first: re-registering keeps the flush ahead of
    # every callback registered before this configure().
    atexit.unregister(flush_at_exit)
    atexit.register(flush_at_exit)


def on_shutdown() -> None:
    """An explicit `shutdown` flushed and closed already: nothing to do at exit."""
    atexit.unregister(flush_at_exit)
    restore_sigterm()


# -- SIGTERM -----------------------------------------------------------------
#
# No thread waits for SIGTERM: a permanent flusher thread would make every
# configured process multi-threaded, so each os.fork() (gunicorn, Celery,
# multiprocessing) would be a fork of a threaded process -- the deadlock
# risk Python 3.12+ warns about with a DeprecationWarning. The handler
# starts the flusher when the signal comes, with _thread.start_new_thread:
# no Python-level lock is taken and nothing waits for the thread to run.

_previous: Any = None
_installed = False
_requested = 0
_flushed = False


def sigterm_installed() -> bool:
    """Whether safelog's SIGTERM handler is the one in place."""
    return _installed and signal.getsignal(signal.SIGTERM) is _on_sigterm


def _on_sigterm(signum: int, frame: object) -> None:
    # A signal handler: no lock, no logging, nothing that blocks.
    global _requested  # noqa: PLW0603
    if _flushed:
        # The flusher is done and sent SIGTERM again: end as SIGTERM would
        # have without safelog. (signal.signal may only run in the main
        # thread, which is where Python runs signal handlers.)
        _end_by_sigterm()
        return
    if _requested:
        return  # a flush is under way; it ends the process when done
    _requested = signum
    try:
        _thread.start_new_thread(_terminate, ())
    except Exception:  # noqa: BLE001 -- no thread to be had: end now, as before
        _end_by_sigterm()


def _end_by_sigterm() -> None:
    signal.signal(signal.SIGTERM, _previous if _previous is not None else signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _terminate() -> None:
    """Flush and close within the deadline, then let SIGTERM do what it did before."""
    global _flushed  # noqa: PLW0603
    deadline = time.monotonic() + _timeout
    _drain_parked()
    for dispatcher in _dispatchers():
        with contextlib.suppress(Exception):
            dispatcher.flush(_left(deadline))
    for dispatcher in _dispatchers():
        with contextlib.suppress(Exception):
            dispatcher.close(_left(deadline))
    _flushed = True
    # The main thread's handler (see _on_sigterm) restores the disposition
    # and re-raises. A main thread that runs no Python code for a second
    # (stuck in a C call) cannot: the process then ends from here, with
    # the exit status a shell reports for SIGTERM.
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(_REDELIVER_GRACE)
    os._exit(128 + signal.SIGTERM)


_REDELIVER_GRACE = 1.0


def install_sigterm() -> bool:
    """
    Handle SIGTERM (flush within the deadline, then end as before) if it still
    has its default action and this is the main thread; a service's own
    handler, or SIGTERM ignored, is left alone.
    """
    global _previous, _installed  # noqa: PLW0603
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        current = signal.getsignal(signal.SIGTERM)
        if current is _on_sigterm:
            return True
        if current is not signal.SIG_DFL:
            return False
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):
        return False
    _previous = current
    _installed = True
    return True


def restore_sigterm() -> None:
    """Put SIGTERM's previous action back (an explicit `shutdown`)."""
    global _installed  # noqa: PLW0603
    if not _installed or threading.current_thread() is not threading.main_thread():
        return
    with contextlib.suppress(ValueError, OSError):
        if signal.getsignal(signal.SIGTERM) is _on_sigterm:
            signal.signal(signal.SIGTERM, _previous if _previous is not None else signal.SIG_DFL)
    _installed = False


# -- fork ----------------------------------------------------------------------


def _each_sink(method: str) -> None:
    for sink in _sinks():
        hook: Callable[[], None] | None = getattr(sink, method, None)
        if callable(hook):
            with contextlib.suppress(Exception):
                hook()


def _before_fork() -> None:
    _each_sink("before_fork")


def _after_fork_in_parent() -> None:
    _each_sink("after_fork_in_parent")


def _after_fork_in_child() -> None:
    global _requested, _exit_deadline, _flushed  # noqa: PLW0603
    pid = os.getpid()
    for state in (_state.current(), _state.fallback()):
        if state is None:
            continue
        with contextlib.suppress(Exception):
            state.policy_filter.update_metadata(pid=pid)
            state.chain.metadata["pid"] = pid
            state.chain.dispatcher.after_fork_in_child()
    _each_sink("after_fork_in_child")
    _requested = 0
    _flushed = False
    _exit_deadline = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )

atexit.register(close_at_exit)
