"""
Where rendered lines go: the sink protocol, the console sink and the
dispatcher that hands every line to every sink.

A sink receives only lines the chain has rendered. Sinks never raise into
the caller: a failing sink is counted, and the count is reported as metadata.
"""

from __future__ import annotations

import sys
import threading

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
    """Anything that accepts rendered JSON lines."""

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
    """

    __slots__ = ("_lock", "_stream", "errors")

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.errors = 0

    def write(self, line: str) -> None:
        stream = self._stream if self._stream is not None else sys.stderr
        if type(stream) is GuardedStream:
            # The stdio guard: safelog's own lines go to the real stream.
            stream = stream.real
        data = line + "\n"
        with self._lock:
            try:
                stream.write(data)
                stream.flush()
            except Exception:  # noqa: BLE001 -- a closed or broken stream must not raise into the caller
                self.errors += 1

    def flush(self, timeout: float | None = None) -> None:
        stream = self._stream if self._stream is not None else sys.stderr
        if type(stream) is GuardedStream:
            stream = stream.real
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            self.errors += 1

    def close(self, timeout: float | None = None) -> None:
        self.flush(timeout)


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
            except Exception:  # noqa: BLE001 -- never raise into the caller
                self.errors += 1
            return
        for sink in self.sinks:
            try:
                sink.write(line)
            except Exception:  # noqa: BLE001 -- never raise into the caller
                self.errors += 1
        for fn in self._listeners:
            try:
                fn(line)
            except Exception:  # noqa: BLE001
                self.errors += 1

    def flush(self, timeout: float | None = None) -> None:
        for sink in self.sinks:
            try:
                sink.flush(timeout)
            except Exception:  # noqa: BLE001
                self.errors += 1

    def close(self, timeout: float | None = None) -> None:
        for sink in self.sinks:
            try:
                sink.close(timeout)
            except Exception:  # noqa: BLE001
                self.errors += 1
