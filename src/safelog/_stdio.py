"""
The stdio guard (``configure(stdio="guard")``): text written to
``sys.stdout`` and ``sys.stderr`` by anything but safelog's own sinks
becomes a metadata record instead of the text.

``print()``, ``traceback.print_exc()``, ``http.server``'s access log,
``http.client``'s debug output and libraries that write to ``sys.stderr``
all go through these two objects. With the guard, each burst of writes from
one call site becomes one record: the stream, where the text came from (the
writing code's module, function and line: names of code, checked as for any
call site) and how long it was (characters, lines, writes). The text itself
is never kept.

In containers and Lambda, stdout and stderr *are* the log group; this closes
output that never went through a logger.

What it cannot see: anything written to file descriptors 1 and 2 without
going through ``sys.stdout``/``sys.stderr`` (C extensions, ``os.write(2,
...)``, ``faulthandler``, subprocesses that inherit the descriptors,
``sys.__stderr__`` kept from before `configure`, and CPython's own fatal
error output), and streams a library captured before `configure` (e.g. a
``logging.StreamHandler`` created at import: safelog's foreign-handler
check covers those). See ``docs/stdio.md``.

safelog's console sink keeps writing to the real stream (`GuardedStream.real`).
Anything else written while the guard is emitting a record on the same
thread (a custom sink printing, a signal handler that lands inside the
emit) is dropped and counted (``stats()["stdio_dropped"]``): never printed,
never a record about a record.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import threading

from collections.abc import Callable, Iterable, Mapping
from types import FrameType
from typing import IO, Any, Literal, Protocol

from . import _callsite
from .errors import ConfigurationError
from .processors import add_timestamp, render_json_line


__all__ = [
    "MODES",
    "GuardedStream",
    "install",
    "real_stream",
    "resolve_mode",
    "stats",
    "swap_real",
]

StdioMode = Literal["off", "guard"]
#: What ``configure(stdio=...)`` accepts.
MODES: tuple[StdioMode, ...] = ("off", "guard")

StreamName = Literal["stdout", "stderr"]

#: The event of a guarded write.
EVENT = "stdio_write"
_LEVEL = logging.WARNING
# Writers whose output is one report made of many writes: their frames are
# skipped when naming the call site, and their bursts end when the call
# site changes (or on flush), not at each newline.
_BURST_WRITERS = frozenset({"traceback"})


def resolve_mode(value: object) -> StdioMode:
    """Validate ``configure(stdio=...)``."""
    if value is None or value is False:
        return "off"
    if type(value) is str and value in MODES:
        return value
    msg = "stdio: must be 'off' or 'guard'"
    raise ConfigurationError(msg)


class _Dispatcher(Protocol):
    def emit(self, line: str) -> None: ...


class Target(Protocol):
    """What the guard needs of a chain (`safelog._chain.Chain` has it)."""

    @property
    def metadata(self) -> Mapping[str, Any]: ...

    @property
    def min_level(self) -> int: ...

    @property
    def dispatcher(self) -> _Dispatcher: ...


class _Burst:
    __slots__ = (
        "function",
        "key",
        "line",
        "lines",
        "module",
        "pid",
        "size",
        "stream",
        "unit",
        "writes",
    )

    def __init__(
        self, key: tuple[Any, ...], stream: StreamName, unit: str, frame: FrameType | None
    ) -> None:
        self.key = key
        self.pid = os.getpid()
        self.stream = stream
        #: "chars" (text) or "bytes" (sys.stdout.buffer): the size's field name.
        self.unit = unit
        self.size = 0
        self.lines = 0
        self.writes = 0
        self.module: str | None = None
        self.function: str | None = None
        self.line: int | None = None
        if frame is not None:
            info = _callsite.code_info(frame)
            self.module = info.module
            self.function = info.function
            self.line = _callsite.line_of(frame, info)


# Per thread: the burst being gathered, and whether this thread is inside
# the guard's own emit. No lock anywhere on the write path: print() from a
# signal handler must never wait for the code it interrupted.
_local = threading.local()


def _writer(frame: FrameType | None) -> tuple[FrameType | None, bool]:
    """The frame that wrote (skipping this module and burst writers)."""
    burst = False
    f = frame
    while f is not None:
        name = f.f_globals.get("__name__")
        if name == __name__:
            f = f.f_back
        elif name in _BURST_WRITERS:
            burst = True
            f = f.f_back
        else:
            return f, burst
    return None, burst


class _Guard:
    """One installation: the target chain and the two guarded streams."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.errors = 0
        self.records = 0
        self.dropped = 0

    def note(  # noqa: PLR0917 -- one call site per stream kind, all positional
        self,
        stream: StreamName,
        unit: str,
        frame: FrameType | None,
        size: int,
        newlines: int,
        ends_line: bool,
    ) -> None:
        where, burst = _writer(frame)
        if getattr(_local, "naming", False):
            # A signal handler wrote while this thread was naming a call
            # site (on a cold cache that reads and compiles the module's
            # source: longer than a fast timer's interval). Naming again
            # here would nest handler in handler for ever: a nameless
            # record of its own instead.
            lone = _Burst((), stream, unit, None)
            lone.size, lone.lines, lone.writes = size, newlines, 1
            self.emit(lone)
            return
        key = (stream, unit, id(where), where.f_lasti if where is not None else -1)
        pending: _Burst | None = getattr(_local, "pending", None)
        if pending is not None and pending.pid != os.getpid():
            # Inherited from the parent at fork: the parent reports it.
            pending = None
        if pending is not None and pending.key != key:
            _local.pending = None
            self.emit(pending)
            pending = None
        if pending is None:
            _local.naming = True
            try:
                pending = _Burst(key, stream, unit, where)
            finally:
                _local.naming = False
            _local.pending = pending
        pending.size += size
        pending.lines += newlines
        pending.writes += 1
        if ends_line and not burst:
            _local.pending = None
            self.emit(pending)

    def flush_pending(self) -> None:
        pending: _Burst | None = getattr(_local, "pending", None)
        if pending is not None and pending.pid == os.getpid():
            _local.pending = None
            self.emit(pending)

    def emit(self, burst: _Burst) -> None:
        target = self.target
        if target.min_level > _LEVEL:
            return
        # Built only from trusted parts: names of code, counts, constants
        # and the configuration's metadata. The text is never looked at.
        record: dict[str, Any] = {"timestamp": None}
        add_timestamp(None, "warning", record)
        record.update(
            level="warning",
            logger=__name__,
            event=EVENT,
            module=burst.module,
            function=burst.function,
            line=burst.line,
        )
        record.update(target.metadata)
        record["stream"] = burst.stream
        record[burst.unit] = burst.size
        record["lines"] = burst.lines
        record["writes"] = burst.writes
        _local.emitting = True
        try:
            target.dispatcher.emit(render_json_line(record))
            self.records += 1
        except Exception:  # noqa: BLE001 -- a print() must never fail because of us
            self.errors += 1
        finally:
            _local.emitting = False


class _GuardedBuffer(io.RawIOBase):
    """``sys.stdout.buffer`` of a guarded stream: bytes are counted, not kept."""

    def __init__(self, owner: GuardedStream) -> None:
        super().__init__()
        self._owner = owner

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        size = len(memoryview(b).cast("B"))
        owner = self._owner
        if getattr(_local, "emitting", False):
            owner.guard.dropped += 1
            return size
        try:
            data = bytes(memoryview(b)[-1:]) if size else b""
            owner.guard.note(
                owner.stream_name,
                "bytes",
                sys._getframe(1),
                size,
                0,
                data == b"\n",
            )
        except Exception:  # noqa: BLE001
            owner.guard.errors += 1
        return size

    def flush(self) -> None:
        self._owner.flush()

    def close(self) -> None:
        # Closing sys.stdout.buffer must not close the real stream.
        pass


class GuardedStream(io.TextIOBase):
    """
    Stands in for ``sys.stdout``/``sys.stderr`` while the guard is on:
    every write becomes (part of) a metadata record; `real` is the stream
    it replaced, where safelog's own console sink writes.
    """

    def __init__(self, stream_name: StreamName, real: IO[str], guard: _Guard) -> None:
        super().__init__()
        self.stream_name: StreamName = stream_name
        self.real = real
        self.guard = guard
        self._buffer = _GuardedBuffer(self)

    # writing

    def write(self, s: str) -> int:
        text: object = s
        if not isinstance(text, str):
            msg = f"write() argument must be str, not {type(s).__name__}"
            raise TypeError(msg)
        size = len(s)
        if getattr(_local, "emitting", False):
            # Written while this thread is inside the guard's own emit: a
            # sink writing to sys.stdout, or a signal handler that landed
            # there. Neither may print the text nor start another record
            # (that would recurse): dropped and counted.
            self.guard.dropped += 1
            return size
        try:
            self.guard.note(
                self.stream_name,
                "chars",
                sys._getframe(1),
                size,
                s.count("\n"),
                s.endswith("\n"),
            )
        except Exception:  # noqa: BLE001 -- never raise into print()
            self.guard.errors += 1
        return size

    def writelines(self, lines: Iterable[str]) -> None:  # type: ignore[override]
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self.guard.flush_pending()
        except Exception:  # noqa: BLE001
            self.guard.errors += 1
        with contextlib.suppress(Exception):  # a closed real stream
            self.real.flush()

    # what libraries ask of sys.stdout

    @property
    def buffer(self) -> _GuardedBuffer:
        return self._buffer

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.real, "encoding", None) or "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]  # read-only, as on TextIOWrapper
        return getattr(self.real, "errors", None)

    @property
    def newlines(self) -> Any:  # type: ignore[override]  # read-only, as on TextIOWrapper
        return None

    def isatty(self) -> bool:
        try:
            return bool(self.real.isatty())
        except Exception:  # noqa: BLE001
            return False

    def fileno(self) -> int:
        # Code that writes to the descriptor itself bypasses the guard; that
        # is documented, and refusing would break subprocess(stdout=sys.stdout).
        return self.real.fileno()

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        # sys.stdout.close() must not close the stream the console sink uses.
        self.flush()

    @property
    def closed(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<safelog guarded sys.{self.stream_name}>"


# The installed guard, if any: (guard, stdout stand-in, stderr stand-in).
_installed: tuple[_Guard, GuardedStream | None, GuardedStream | None] | None = None
_install_lock = threading.Lock()


def real_stream(stream: Any) -> Any:
    """The stream safelog's own sinks write to in place of *stream*."""
    if type(stream) is GuardedStream:
        return stream.real
    return stream


def swap_real(name: StreamName, new: Any) -> Any:
    """
    Make *new* the stream that ``sys.<name>`` finally writes to: the real
    stream under the guard, else ``sys.<name>`` itself. Returns the previous
    one (the test capture uses this to see the process's output).
    """
    current = getattr(sys, name)
    if type(current) is GuardedStream:
        old = current.real
        current.real = new
        return old
    setattr(sys, name, new)
    return current


def install(target: Target) -> Callable[[], None]:
    """Guard ``sys.stdout`` and ``sys.stderr``; return the function that undoes it."""
    global _installed  # noqa: PLW0603 -- the one record of the installed guard
    guard = _Guard(target)
    with _install_lock:
        out = err = None
        if sys.stdout is not None and type(sys.stdout) is not GuardedStream:
            out = GuardedStream("stdout", sys.stdout, guard)
            sys.stdout = out
        if sys.stderr is not None and type(sys.stderr) is not GuardedStream:
            err = GuardedStream("stderr", sys.stderr, guard)
            sys.stderr = err
        _installed = (guard, out, err)

    def restore() -> None:
        global _installed  # noqa: PLW0603
        with _install_lock:
            try:
                guard.flush_pending()
            except Exception:  # noqa: BLE001
                guard.errors += 1
            # Someone replaced the stream after us: theirs stays.
            if out is not None and sys.stdout is out:
                sys.stdout = out.real
            if err is not None and sys.stderr is err:
                sys.stderr = err.real
            if _installed is not None and _installed[0] is guard:
                _installed = None

    return restore


def stats() -> dict[str, int]:
    """The installed guard's counters (empty when it is off)."""
    installed = _installed
    if installed is None:
        return {}
    guard = installed[0]
    return {
        "stdio_records": guard.records,
        "stdio_dropped": guard.dropped,
        "stdio_errors": guard.errors,
    }
