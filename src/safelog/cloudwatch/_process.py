"""
Process lifecycle for CloudWatch sinks (atexit, SIGTERM, fork,
``multiprocessing`` children) until configuration owns it.

Transitional: issue 13 moves this into ``safelog._lifecycle``, which calls
the sinks' public ``flush``/``close``/fork hooks itself; then this module
goes. It is the only part of ``safelog.cloudwatch`` that knows about
``safelog._config`` (its public functions only); the sink knows nothing of
configuration.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
import weakref

from typing import TYPE_CHECKING

from safelog import _config


if TYPE_CHECKING:
    from ._sink import CloudWatchSink


__all__ = ["closed", "register"]

_DEFAULT_TIMEOUT = 5.0
_live: weakref.WeakSet[CloudWatchSink] = weakref.WeakSet()
_wants_sigterm: weakref.WeakSet[CloudWatchSink] = weakref.WeakSet()
_mp_registered: weakref.WeakSet[CloudWatchSink] = weakref.WeakSet()


def register(sink: CloudWatchSink) -> None:
    """Flush *sink* at exit, on SIGTERM and in ``multiprocessing`` children."""
    _live.add(sink)
    if sink.config.handle_sigterm and _install_sigterm():
        _wants_sigterm.add(sink)
    # Made in a multiprocessing child (a worker that configures safelog
    # itself): flush before its os._exit, as an inherited sink does.
    mp = sys.modules.get("multiprocessing")
    if mp is not None and mp.parent_process() is not None:
        _mp_after_fork(sink)


def closed(sink: CloudWatchSink) -> None:
    """*sink* is closed: SIGTERM goes back to its default when none needs it."""
    _live.discard(sink)
    _wants_sigterm.discard(sink)
    if not _wants_sigterm:
        _restore_sigterm()


def _exit_timeout() -> float:
    if _config.is_configured():
        return _config.current_state().shutdown_timeout
    return _DEFAULT_TIMEOUT


def _configured_with(sink: CloudWatchSink) -> bool:
    if not _config.is_configured():
        return False
    return any(s is sink for s in _config.current_state().chain.dispatcher.sinks)


# -- fork ------------------------------------------------------------------


def _before_fork() -> None:
    for sink in list(_live):
        sink.before_fork()
        mp_util = sys.modules.get("multiprocessing.util")
        if mp_util is not None and sink not in _mp_registered:
            _mp_registered.add(sink)
            mp_util.register_after_fork(sink, _mp_after_fork)


def _after_fork_in_parent() -> None:
    for sink in list(_live):
        sink.after_fork_in_parent()


def _after_fork_in_child() -> None:
    for sink in list(_live):
        sink.after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )


def _mp_after_fork(sink: CloudWatchSink) -> None:
    """In a ``multiprocessing`` child: flush before its ``os._exit``."""
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None:
        mp_util.Finalize(sink, _child_exit, args=(weakref.ref(sink),), exitpriority=100)


def _child_exit(ref: weakref.ref[CloudWatchSink]) -> None:
    sink = ref()
    if sink is None:
        return
    if _configured_with(sink):
        _config.shutdown()
    else:
        sink.close(_exit_timeout())


# -- exit ------------------------------------------------------------------


def _close_all() -> None:
    timeout = _exit_timeout()
    for sink in list(_live):
        sink.close(timeout)


atexit.register(_close_all)


def _on_sigterm(signum: int, frame: object) -> None:
    """Flush within the deadline, then die by SIGTERM as the default would."""
    with contextlib.suppress(Exception):
        _config.shutdown()
    with contextlib.suppress(Exception):
        _close_all()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _install_sigterm() -> bool:
    """Install `_on_sigterm` only where SIGTERM still has its default action."""
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        current = signal.getsignal(signal.SIGTERM)
        if current is _on_sigterm:
            return True
        if current is not signal.SIG_DFL:
            # The service (or its server) handles SIGTERM: theirs wins.
            return False
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):
        return False
    return True


def _restore_sigterm() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    with contextlib.suppress(ValueError, OSError):
        if signal.getsignal(signal.SIGTERM) is _on_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
