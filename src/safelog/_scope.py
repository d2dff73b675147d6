"""
Scopes (a request, a task, an invocation): debug buffering and sampling.

`buffered` opens a scope in a context variable, so asyncio tasks and
threads never share one unless they were started from inside it. With
``configure(buffer_level="DEBUG")`` the records of a scope at or below that
level are rendered as usual -- sanitized by the whole chain, then turned into
their JSON line -- and the *line* is held in the scope's bounded buffer.
Raw arguments are never held. The held lines are emitted, in order and
marked ``"buffered": true``, when the same scope logs an error or ends with
an uncaught exception; otherwise they are discarded when the scope ends.

With ``configure(sampling_rate=0.1)`` each scope is sampled in or out once,
as a whole: a sampled-out scope's DEBUG and INFO records are counted and
dropped; a sampled-in scope's carry ``"sampling_rate": 0.1``. Warnings and
errors are never sampled out, and records that carry metrics (``_aws``,
``log.metric()``) are never held or sampled: the metrics must be complete.

`ScopeRouter` is the chain's last stage when either feature is on; with both
off it is not in the chain at all.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import random
import threading

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from .errors import ConfigurationError


__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_RECORDS",
    "OFF",
    "TAKEN",
    "BufferedScope",
    "ScopeCounters",
    "ScopeOptions",
    "ScopeRouter",
    "buffered",
    "current_scope",
    "resolve_bound",
    "resolve_buffer_level",
    "resolve_sampling_rate",
]

_BUFFER_LEVELS: Mapping[str, int] = {"DEBUG": logging.DEBUG, "INFO": logging.INFO}
#: Powertools Logger's default buffer size, so a team moving over keeps it.
DEFAULT_MAX_BYTES = 20480
DEFAULT_MAX_RECORDS = 1000


class _Taken:
    __slots__ = ()

    def __repr__(self) -> str:
        return "TAKEN"


#: What the chain's *last* stage returns for a record it has taken over and
#: accounted for -- held in a scope's buffer, or a sampled-out DEBUG/INFO
#: record -- so there is nothing to dispatch now (`Chain.run`). No value of a
#: call can be this object, so nothing a caller passes can suppress a record.
TAKEN = _Taken()

#: Record level -> logging level number, for the levels the chain emits.
_LEVELNO: Mapping[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


class Scope:
    """One request's buffer and sampling decision. Made by `buffered`."""

    __slots__ = ("bytes", "dropped", "lines", "lock", "owner", "sampled")

    def __init__(self) -> None:
        self.lines: deque[tuple[str, int]] = deque()
        self.bytes = 0
        self.dropped = 0
        # One lock per scope: asyncio.to_thread copies the context, so a
        # worker thread can log into the same scope as its request. Re-entrant:
        # a signal handler that logs runs on the thread that may hold it.
        self.lock = threading.RLock()
        #: The router that holds lines for this scope (set on first hold).
        self.owner: ScopeRouter | None = None
        #: None until the first record that sampling applies to.
        self.sampled: bool | None = None


_current: contextvars.ContextVar[Scope | None] = contextvars.ContextVar(
    "safelog_scope", default=None
)


def current_scope() -> Scope | None:
    """The scope of the calling context, if any."""
    return _current.get()


class BufferedScope:
    """
    The context manager `buffered` returns. Entering it inside another
    scope joins that scope: the outermost one owns the buffer and decides.
    """

    __slots__ = ("_token",)

    def __init__(self) -> None:
        self._token: contextvars.Token[Scope | None] | None = None

    def __enter__(self) -> BufferedScope:
        if _current.get() is None:
            self._token = _current.set(Scope())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        token, self._token = self._token, None
        if token is None:
            return  # joined an outer scope: it decides
        scope = _current.get()
        _current.reset(token)
        if scope is None or scope.owner is None:
            return
        # An uncaught exception is an error of the scope; cancellation and
        # interpreter exits are not.
        if isinstance(exc, Exception):
            scope.owner.flush(scope)
        else:
            scope.owner.discard(scope)

    async def __aenter__(self) -> BufferedScope:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def buffered() -> BufferedScope:
    """
    Open a scope for a request, task or invocation (``with
    safelog.buffered(): ...`` or ``async with``).

    Records below ``buffer_level`` logged inside it are held and emitted only
    if the scope logs an error or ends with an exception; sampling decides
    once per scope. Without ``buffer_level`` and ``sampling_rate`` it changes
    nothing, so integrations can open it unconditionally.
    """
    return BufferedScope()


@dataclass(frozen=True)
class ScopeOptions:
    """Buffering and sampling options, resolved (both off by default)."""

    buffer_level: int | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    max_records: int = DEFAULT_MAX_RECORDS
    sampling_rate: float | None = None

    @property
    def enabled(self) -> bool:
        return self.buffer_level is not None or self.sampling_rate is not None


#: Both off: what configure() uses when neither option is given.
OFF = ScopeOptions()


class ScopeCounters:
    """What buffering and sampling did (metadata only)."""

    __slots__ = ("discarded", "dropped", "flushed", "held", "sampled_out")

    def __init__(self) -> None:
        #: Lines put in a scope's buffer.
        self.held = 0
        #: Held lines emitted because their scope had an error.
        self.flushed = 0
        #: Held lines discarded because their scope ended without one.
        self.discarded = 0
        #: Held lines lost to the buffer's bound (oldest first) -- a loss.
        self.dropped = 0
        #: DEBUG/INFO records of sampled-out scopes.
        self.sampled_out = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "buffer_held": self.held,
            "buffer_flushed": self.flushed,
            "buffer_discarded": self.discarded,
            "buffer_dropped": self.dropped,
            "sampled_out": self.sampled_out,
        }


class ScopeRouter:
    """
    The last stage when buffering or sampling is on: render the record, then
    emit it, hold it in its scope's buffer, or drop it (counted).

    *level* is the configured level: records below it reach the chain only
    to be buffered (``buffer_level`` lower than ``level``), so outside a
    scope they are not emitted, as if the level had filtered them.
    """

    __slots__ = (
        "_buffer_level",
        "_level",
        "_max_bytes",
        "_max_records",
        "_rate",
        "_render",
        "counters",
        "emit",
    )

    def __init__(
        self,
        render: Callable[[Any, str, dict[str, Any]], str],
        *,
        level: int,
        buffer_level: int | None,
        max_bytes: int,
        max_records: int,
        sampling_rate: float | None,
    ) -> None:
        self._render = render
        self._level = level
        self._buffer_level = buffer_level
        self._max_bytes = max_bytes
        self._max_records = max_records
        self._rate = sampling_rate
        # Counters are plain ints, no lock (signal handlers log through here;
        # a lost increment under a race costs a count, never a record).
        self.counters = ScopeCounters()
        #: Where flushed lines go: the chain's dispatcher, set by configure.
        self.emit: Callable[[str], None] = _no_emit

    def __call__(self, logger: Any, method_name: str, record: dict[str, Any]) -> Any:
        levelno = _LEVELNO.get(record.get("level"))  # type: ignore[arg-type]
        scope = _current.get()
        if scope is not None and levelno is not None and levelno >= logging.ERROR:
            # Before the error itself, even one that carries metrics.
            if scope.lines:
                self.flush(scope)
            return self._render(logger, method_name, record)
        if levelno is None or "_aws" in record:
            # log.metric(), a record carrying metrics, a custom stdlib level.
            return self._render(logger, method_name, record)
        if scope is None:
            if levelno < self._level:
                return TAKEN
            return self._render(logger, method_name, record)
        buffer_level = self._buffer_level
        if buffer_level is not None and levelno <= buffer_level:
            record["buffered"] = True
            self._hold(scope, self._render(logger, method_name, record))
            return TAKEN
        if levelno < self._level:  # pragma: no cover -- buffer_level covers these
            return TAKEN
        rate = self._rate
        if rate is not None and levelno <= logging.INFO:
            sampled = scope.sampled
            if sampled is None:
                # Decided once per scope: a request is sampled in or out whole.
                sampled = scope.sampled = random.random() < rate  # noqa: S311 -- not security
            if not sampled:
                self.counters.sampled_out += 1
                return TAKEN
            record["sampling_rate"] = rate
        return self._render(logger, method_name, record)

    def _hold(self, scope: Scope, line: str) -> None:
        size = len(line) if line.isascii() else len(line.encode("utf-8"))
        dropped = 0
        with scope.lock:
            scope.owner = self
            if size > self._max_bytes:
                dropped = 1
            else:
                lines = scope.lines
                while lines and (
                    scope.bytes + size > self._max_bytes or len(lines) >= self._max_records
                ):
                    scope.bytes -= lines.popleft()[1]
                    dropped += 1
                lines.append((line, size))
                scope.bytes += size
            scope.dropped += dropped
        self.counters.held += 1
        self.counters.dropped += dropped

    def flush(self, scope: Scope) -> None:
        """Emit *scope*'s held lines, oldest first, and empty its buffer."""
        with scope.lock:
            lines = list(scope.lines)
            scope.lines.clear()
            scope.bytes = 0
        emit = self.emit
        for line, _ in lines:
            emit(line)
        self.counters.flushed += len(lines)

    def discard(self, scope: Scope) -> None:
        """Drop *scope*'s held lines: it ended without an error."""
        with scope.lock:
            n = len(scope.lines)
            scope.lines.clear()
            scope.bytes = 0
        self.counters.discarded += n


def _no_emit(line: str) -> None:  # pragma: no cover -- replaced at configure
    return None


def resolve_buffer_level(value: object, option: str) -> int | None:
    """``"DEBUG"``/``"INFO"`` (any case) as a level number; None (off) for None."""
    if value is None:
        return None
    if type(value) is str and value.strip().upper() in _BUFFER_LEVELS:
        return _BUFFER_LEVELS[value.strip().upper()]
    msg = f"{option}: must be 'DEBUG' or 'INFO' (records at or below it are buffered)"
    raise ConfigurationError(msg)


def resolve_bound(value: object, option: str, default: int, most: int) -> int:
    """A positive int up to *most* (from an argument, TOML or an env string)."""
    if value is None:
        return default
    if type(value) is str:
        with contextlib.suppress(ValueError):
            value = int(value.strip())
    if type(value) is not int or not 1 <= value <= most:
        msg = f"{option}: must be an integer from 1 to {most}"
        raise ConfigurationError(msg)
    return value


def resolve_sampling_rate(value: object, option: str) -> float | None:
    """A rate from 0.0 to 1.0, or None (off)."""
    if value is None:
        return None
    if type(value) is str:
        with contextlib.suppress(ValueError):
            value = float(value.strip())
    if type(value) not in (int, float) or not 0.0 <= value <= 1.0:  # type: ignore[operator]
        msg = f"{option}: must be a number from 0.0 to 1.0 (the share of scopes kept)"
        raise ConfigurationError(msg)
    return float(value)  # type: ignore[arg-type]
