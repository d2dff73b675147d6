"""
The one piece of process lifecycle ``safelog._lifecycle`` does not cover yet:
a ``multiprocessing`` child ends with ``os._exit`` (no atexit), so a CloudWatch
sink it inherited or made flushes from a ``multiprocessing.util.Finalize``
callback instead. Exit, SIGTERM and ``os.fork`` belong to ``_lifecycle``,
which calls the sinks' ``flush``/``close``/fork hooks itself.
"""

from __future__ import annotations

import contextlib
import sys
import weakref

from typing import TYPE_CHECKING

from safelog import _lifecycle


if TYPE_CHECKING:
    from ._sink import CloudWatchSink


__all__ = ["register"]

_DEFAULT_TIMEOUT = 5.0


def register(sink: CloudWatchSink) -> None:
    """Flush *sink* before a ``multiprocessing`` child's ``os._exit``."""
    import multiprocessing
    import multiprocessing.util

    # Inherited by a forked multiprocessing child: runs in that child.
    multiprocessing.util.register_after_fork(sink, _finalize_in_child)
    # Made in a multiprocessing child (a worker that configures safelog
    # itself): flush before its os._exit, as an inherited sink does.
    if multiprocessing.parent_process() is not None:
        _finalize_in_child(sink)


def _finalize_in_child(sink: CloudWatchSink) -> None:
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None:
        mp_util.Finalize(sink, _child_exit, args=(weakref.ref(sink),), exitpriority=100)


def _child_exit(ref: weakref.ref[CloudWatchSink]) -> None:
    # Every configured sink (the console too), within the configured
    # deadline; then this one, in case it was made outside configure().
    with contextlib.suppress(Exception):
        _lifecycle.close_at_exit()
    sink = ref()
    if sink is not None:
        sink.close(_DEFAULT_TIMEOUT)
