"""
Where rendered lines go: the sink protocol, the console sink and the
dispatcher that hands every line to every sink.

A sink receives only lines the chain has rendered. Sinks never raise into
the caller: a failing sink is counted, and the count is reported as metadata.
"""

from __future__ import annotations

import sys
import threading
import time

from collections import deque
from collections.abc import Callable
from typing import IO, Protocol, runtime_checkable

from ._stdio import GuardedStream


__all__ = ["ConsoleSink", "Dispatcher", "Sink", "internal_threads"]

#: Idents of threads that belong to safelog's own sinks (the CloudWatch
#: shipper). Records those threads cause through stdlib logging (botocore,
#: urllib3) are never shipped: that would be a feedback loop and can echo
#: request contents.
internal_threads: set[int] = set()


@runtime_checkable
class Sink(Protocol):
    """
    A destination for finished records: anything with these three methods.

    ``write`` receives one finished, sanitized JSON line (no newline): the
    policy, the event guard and the exception sanitizer have run, so a sink
    never sees a raw value. It must not block for long and must not raise
    (a sink that raises is counted in ``stats()["sink_errors"]`` and the
    other sinks still get the line). ``flush`` delivers what is buffered,
    waiting at most *timeout* seconds; ``close`` flushes and releases
    resources. Both may be called more than once.

    Optional, found by name: ``stats() -> Mapping[str, int]`` (merged into
    `safelog.stats`), and ``before_fork()``, ``after_fork_in_parent()``,
    ``after_fork_in_child()``, called around ``os.fork()`` (re-create locks,
    threads and connections in the child; the parent's buffer is the
    parent's to deliver).

    ``write`` can be reached from a signal handler interrupting the same
    thread in the middle of a ``write``: a sink that takes a lock there
    must take a re-entrant one and must not interleave the two lines (see
    `ConsoleSink`).
    """

    def write(self, line: str) -> None:
        """Accept one rendered line (no trailing newline). Must not block long."""

    def flush(self, timeout: float | None = None) -> None:
        """Deliver what is buffered, waiting at most *timeout* seconds."""

    def close(self, timeout: float | None = None) -> None:
        """Flush, then release resources."""


class ConsoleSink:
    """
    JSON lines on a text stream (``sys.stderr`` by default, looked up at each
    write so test runners that swap it see the output).

    Safe to call from a signal handler and in a forked child: the lock is
    re-entrant, a line written while this thread is already inside `write`
    (a handler that interrupted it) waits in a queue and follows the line
    being written, never inside it; a forked child gets a fresh lock.
    """

    __slots__ = ("_busy", "_lock", "_pending", "_stream", "errors")

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self._lock = threading.RLock()
        self._busy = False
        self._pending: deque[str] = deque()
        self.errors = 0

    def write(self, line: str) -> None:
        with self._lock:
            if self._busy:
                # This thread is inside write() below: a signal handler (or
                # a stream's own code) logged. Its line follows this one.
                self._pending.append(line)
                return
            while True:
                self._busy = True
                try:
                    self._write(line)
                    while self._pending:
                        self._write(self._pending.popleft())
                finally:
                    self._busy = False
                # A handler that ran between the drain and `_busy = False`
                # queued its line: write it now rather than at the next call.
                if not self._pending:
                    return
                line = self._pending.popleft()

    def _write(self, line: str) -> None:
        stream = self._stream
        if stream is None:
            stream = sys.stderr
            if type(stream) is GuardedStream:
                # The stdio guard: safelog's own lines go to the real stream.
                # (A stream given to configure() was taken before the guard.)
                stream = stream.real
        try:
            stream.write(line + "\n")
            stream.flush()
        except RecursionError:
            raise  # near the limit: the level method retries with headroom
        except Exception:  # noqa: BLE001 -- a closed or broken stream must not raise into the caller
            self.errors += 1

    def flush(self, timeout: float | None = None) -> None:
        stream = self._stream
        if stream is None:
            stream = sys.stderr
            if type(stream) is GuardedStream:
                stream = stream.real
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            self.errors += 1

    def close(self, timeout: float | None = None) -> None:
        self.flush(timeout)

    def after_fork_in_child(self) -> None:
        """A fresh lock: the parent's may have been held by a thread that is gone."""
        self._lock = threading.RLock()
        self._busy = False
        # Lines of the parent's interrupted write are the parent's.
        self._pending = deque()


class Dispatcher:
    """Hands each rendered line to every sink and to any listeners."""

    __slots__ = ("_listeners", "_lock", "_single", "errors", "sinks")

    def __init__(self, sinks: tuple[Sink, ...]) -> None:
        self.sinks = sinks
        # An immutable tuple swapped under a lock: emit() reads it without one.
        self._listeners: tuple[Callable[[str], None], ...] = ()
        self._lock = threading.Lock()
        self.errors = 0
        # The common shape -- one sink, no listeners -- skips both loops.
        self._single: Sink | None = sinks[0] if len(sinks) == 1 else None

    def add_listener(self, fn: Callable[[str], None]) -> None:
        """Also hand every line to *fn* (the test capture)."""
        with self._lock:
            self._listeners = (*self._listeners, fn)
            self._single = None

    def remove_listener(self, fn: Callable[[str], None]) -> None:
        # ==, not `is`: each `obj.method` access makes a new bound method.
        with self._lock:
            self._listeners = tuple(x for x in self._listeners if x != fn)
            if not self._listeners and len(self.sinks) == 1:
                self._single = self.sinks[0]

    def emit(self, line: str) -> None:
        single = self._single
        if single is not None:
            try:
                single.write(line)
            except RecursionError:
                raise  # near the limit: the level method retries with headroom
            except Exception:  # noqa: BLE001 -- never raise into the caller
                self.errors += 1
            return
        for sink in self.sinks:
            try:
                sink.write(line)
            except RecursionError:
                raise
            except Exception:  # noqa: BLE001 -- never raise into the caller
                self.errors += 1
        for fn in self._listeners:
            try:
                fn(line)
            except Exception:  # noqa: BLE001
                self.errors += 1

    def emit_except(self, origin: object, line: str) -> None:
        """Hand *line* to every sink but *origin* (a sink reporting its own loss)."""
        for sink in self.sinks:
            if sink is origin:
                continue
            try:
                sink.write(line)
            except Exception:  # noqa: BLE001 -- never raise into the caller
                self.errors += 1
        for fn in self._listeners:
            try:
                fn(line)
            except Exception:  # noqa: BLE001
                self.errors += 1

    def after_fork_in_child(self) -> None:
        """A fresh lock for the listener list in a forked child."""
        self._lock = threading.Lock()

    def flush(self, timeout: float | None = None) -> None:
        """Flush every sink, all within one *timeout* (each gets what is left)."""
        self._each("flush", timeout)

    def close(self, timeout: float | None = None) -> None:
        """Close every sink, all within one *timeout*."""
        self._each("close", timeout)

    def _each(self, method: str, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        for sink in self.sinks:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                getattr(sink, method)(left)
            except Exception:  # noqa: BLE001 -- one failing sink must not stop the others
                self.errors += 1
