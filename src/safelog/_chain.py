"""
The one chain every record goes through, and the structlog bound logger that
feeds it.

`SafeBoundLogger` is a structlog bound logger (``bind``, ``unbind``,
``new``, level methods, async variants) with three differences from
structlog's filtering logger, each for the promise:

- positional arguments are never interpolated into the event (that would
  build the event from data and can raise ``TypeError`` into the caller);
  they are counted as dropped;
- a failure anywhere in the chain never raises into the caller: the record
  goes out with what is known safe plus a marker;
- disabled levels are a bare ``return None``, as in structlog.
"""

from __future__ import annotations

import logging
import sys
import threading

from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, ClassVar

from structlog import BoundLoggerBase

from . import _callsite
from ._sinks import Dispatcher
from .processors import add_timestamp, render_json_line
from .tracebacks import qualified_type_name


__all__ = ["TAKEN", "Chain", "SafeBoundLogger", "SinkLogger", "make_bound_logger_class"]

#: The event of a record whose processing failed inside safelog.
MARKER_INTERNAL = "<safelog-internal-error>"

Processor = Callable[[Any, str, dict[str, Any]], Any]


class _Taken:
    __slots__ = ()

    def __repr__(self) -> str:
        return "TAKEN"


#: What the *last* stage returns for a record it has taken over and
#: accounted for -- held in a debug buffer, or a sampled-out DEBUG/INFO
#: record (see `_scope`): there is nothing to dispatch now. No value of a
#: call can be this object, so nothing a caller passes can suppress a record.
TAKEN = _Taken()


class Chain:
    """The configured processors plus the dispatcher they feed."""

    __slots__ = ("active", "dispatcher", "internal_errors", "metadata", "min_level", "processors")

    def __init__(
        self,
        processors: Sequence[Processor],
        dispatcher: Dispatcher,
        metadata: dict[str, Any],
    ) -> None:
        self.processors = tuple(processors)
        self.dispatcher = dispatcher
        self.metadata = metadata
        self.internal_errors = 0
        #: False once `safelog.shutdown` retired this chain: loggers still
        #: holding it (bound before a reconfigure) use the current one.
        self.active = True
        #: The configured level, for loggers whose class was made without it.
        self.min_level = logging.DEBUG

    def run(self, logger: Any, method_name: str, event_dict: dict[str, Any]) -> None:
        """Process *event_dict* and emit it; never raises."""
        try:
            result: Any = event_dict
            for proc in self.processors:
                result = proc(logger, method_name, result)
            if type(result) is str:
                line = result
            elif result is TAKEN:
                return
            else:
                line = self.fallback_line(method_name, None)
        except BaseException as exc:
            # A hostile __eq__ can raise any BaseException subclass; only the
            # interpreter's own control flow passes through.
            if issubclass(type(exc), _PASS_THROUGH):
                raise
            line = self.fallback_line(method_name, exc)
        self.dispatcher.emit(line)

    def fallback_line(self, method_name: str, exc: BaseException | None) -> str:
        """A record built only from trusted parts, for when a stage failed."""
        self.internal_errors += 1
        record: dict[str, Any] = {"timestamp": None}
        add_timestamp(None, method_name, record)
        record["level"] = method_name if method_name in _LEVEL_NAMES else "error"
        record["event"] = MARKER_INTERNAL
        record.update(self.metadata)
        if exc is not None:
            # The class of safelog's own failure is a name of code.
            record["safelog_error"] = qualified_type_name(type(exc))
        try:
            return render_json_line(record)
        except Exception:  # noqa: BLE001
            return '{"event":"<safelog-internal-error>"}'


_LEVEL_NAMES = frozenset({"debug", "info", "warning", "error", "critical"})
_PASS_THROUGH = (KeyboardInterrupt, SystemExit, GeneratorExit)
_LEVEL_NO = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    # log.metric(): a metric is not filtered by the log level.
    "metric": logging.CRITICAL + 1,
}


def _no_current_chain() -> Chain:  # pragma: no cover -- replaced by _config at import
    raise RuntimeError


#: Returns the chain of the current configuration; set by `_config`.
current_chain: Callable[[], Chain] = _no_current_chain


def chain_of(logger: object) -> Chain:
    """The chain a wrapped logger feeds: its own while active, else the current one."""
    chain = getattr(logger, "chain", None)
    if type(chain) is not Chain or not chain.active:
        chain = current_chain()
    return chain


class SinkLogger:
    """
    The logger a `SafeBoundLogger` wraps: it knows the chain, and its ``name``
    is the one given to `get_logger`. (structlog's own ``get_logger()`` makes
    one through the configured factory, so it reaches the same chain.)
    """

    __slots__ = ("chain", "name")

    def __init__(self, name: str | None, chain: Chain | None) -> None:
        self.name = name
        # None: follow whatever configuration is current at each call.
        self.chain = chain

    def _foreign(self, level: str, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
        # SafeBoundLogger never calls these: only another wrapper does (structlog
        # reconfigured after safelog.configure()). What it hands over was built
        # by processors safelog does not control, so it is content: counted as
        # dropped, never emitted. The record keeps level and call site.
        chain_of(self).run(self, level, {"event": None, "positional_args": (*args, *kw)})

    def debug(self, *args: Any, **kw: Any) -> None:
        self._foreign("debug", args, kw)

    def info(self, *args: Any, **kw: Any) -> None:
        self._foreign("info", args, kw)

    def warning(self, *args: Any, **kw: Any) -> None:
        self._foreign("warning", args, kw)

    def error(self, *args: Any, **kw: Any) -> None:
        self._foreign("error", args, kw)

    def critical(self, *args: Any, **kw: Any) -> None:
        self._foreign("critical", args, kw)

    msg = log = info
    warn = warning
    exception = error
    fatal = critical


class SafeBoundLogger(BoundLoggerBase):
    """A structlog bound logger whose calls always go through safelog's chain."""

    _min_level: ClassVar[int] = logging.INFO
    _logger: SinkLogger

    def is_enabled_for(self, level: int) -> bool:
        return level >= self._min_level

    def get_effective_level(self) -> int:
        return self._min_level

    # Not filtered by the level, never buffered or sampled (see _metrics).
    def metric(self, event: Any = None, /, *args: Any, **kw: Any) -> None:
        """
        Log a record that exists for its metrics: ``log.metric("export_finished",
        duration_ms=812.0, status="ok")``. Its level is ``"metric"``; fields
        declared with ``metric=``/``dimension=True`` become CloudWatch metrics.
        """
        _emit(self, "metric", event, args, kw, _getframe(1))

    async def ametric(self, event: Any = None, /, *args: Any, **kw: Any) -> None:
        """`metric`, for ``await log.ametric(...)``."""
        _emit(self, "metric", event, args, kw, _getframe(1))


def _emit(  # noqa: PLR0917 -- the hot path: positional on purpose
    bound: SafeBoundLogger,
    method_name: str,
    event: Any,
    args: tuple[Any, ...],
    kw: dict[str, Any],
    frame: FrameType | None,
) -> None:
    # A module function, not a method: every level method calls it per record.
    try:
        if args:
            # Never interpolated; counted as dropped by PolicyFilter.
            kw["positional_args"] = args
        ctx = bound._context
        # **kw is a fresh dict per call: ours to fill when nothing is bound.
        event_dict = {**ctx, **kw} if ctx else kw
        event_dict["event"] = event
        # *frame* is the level method's caller, unless that is machinery
        # (structlog's stdlib wrappers, a skip_modules helper).
        module = frame.f_globals.get("__name__") if frame is not None else None
        if type(module) is not str or is_infra(module):
            frame = find_caller(frame)
        logger = bound._logger
        chain: Chain | None = getattr(logger, "chain", None)
        if chain is None or not chain.active:
            # No chain of its own -- made before configure() (safelog's
            # import-time structlog defaults) or by a foreign factory -- or a
            # retired one: the current configuration decides.
            chain = current_chain()
            # Its class filtered by another (or no) configuration's level.
            if _LEVEL_NO.get(method_name, logging.INFO) < chain.min_level:
                return
        origin = (getattr(logger, "name", None), frame)  # a CallOrigin
    except BaseException as exc:
        if issubclass(type(exc), _PASS_THROUGH):
            raise
        chain = chain_of(bound._logger)
        chain.dispatcher.emit(chain.fallback_line(method_name, exc))
        return
    chain.run(origin, method_name, event_dict)


# ``event`` (and ``level`` of log()) are positional-only so that a keyword
# argument named ``event``, ``level`` or ``self`` is just another field to
# drop, never a TypeError raised into the caller.
def _nop(self: Any, event: Any = None, /, *args: Any, **kw: Any) -> None:
    return None


async def _anop(self: Any, event: Any = None, /, *args: Any, **kw: Any) -> None:
    return None


_LEVELS: tuple[tuple[int, str], ...] = (
    (logging.DEBUG, "debug"),
    (logging.INFO, "info"),
    (logging.WARNING, "warning"),
    (logging.ERROR, "error"),
    (logging.CRITICAL, "critical"),
)


def _coerce_level(level: object) -> int:
    """An int level, a level name, or -- for anything else -- INFO: never lose the record."""
    if type(level) is int:
        return level
    if type(level) is str:
        return NAME_TO_LEVEL.get(level.upper(), logging.INFO)
    return logging.INFO


#: Level names safelog understands (in configure() and log()), upper case.
NAME_TO_LEVEL = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
    "FATAL": logging.CRITICAL,
}


def _level_name(level: int) -> str:
    name = "critical"
    for lvl, n in _LEVELS:
        if level <= lvl:
            return n
        name = n
    return name


def make_bound_logger_class(min_level: int) -> type[SafeBoundLogger]:
    """A `SafeBoundLogger` class whose methods below *min_level* do nothing."""
    ns: dict[str, Any] = {"_min_level": min_level, "__slots__": ()}

    def make(level: int, name: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
        if level < min_level:
            return _nop, _anop

        def meth(self: SafeBoundLogger, event: Any = None, /, *args: Any, **kw: Any) -> None:
            _emit(self, name, event, args, kw, _getframe(1))

        async def ameth(self: SafeBoundLogger, event: Any = None, /, *args: Any, **kw: Any) -> None:
            _emit(self, name, event, args, kw, _getframe(1))

        meth.__name__ = name
        ameth.__name__ = "a" + name
        return meth, ameth

    for level, name in _LEVELS:
        ns[name], ns["a" + name] = make(level, name)
    ns["warn"], ns["awarn"] = ns["warning"], ns["awarning"]
    ns["fatal"], ns["afatal"] = ns["critical"], ns["acritical"]
    ns["msg"], ns["amsg"] = ns["info"], ns["ainfo"]

    if min_level <= logging.ERROR:

        def exception(self: SafeBoundLogger, event: Any = None, /, *args: Any, **kw: Any) -> None:
            kw.setdefault("exc_info", True)
            _emit(self, "error", event, args, kw, _getframe(1))

        async def aexception(
            self: SafeBoundLogger, event: Any = None, /, *args: Any, **kw: Any
        ) -> None:
            kw.setdefault("exc_info", True)
            _emit(self, "error", event, args, kw, _getframe(1))

        ns["exception"], ns["aexception"] = exception, aexception
    else:  # pragma: no cover -- min_level above ERROR
        ns["exception"], ns["aexception"] = _nop, _anop

    def log(
        self: SafeBoundLogger, level: int | str, event: Any = None, /, *args: Any, **kw: Any
    ) -> None:
        lvl = _coerce_level(level)
        if lvl < min_level:
            return
        _emit(self, _level_name(lvl), event, args, kw, _getframe(1))

    async def alog(
        self: SafeBoundLogger, level: int | str, event: Any = None, /, *args: Any, **kw: Any
    ) -> None:
        lvl = _coerce_level(level)
        if lvl < min_level:
            return
        _emit(self, _level_name(lvl), event, args, kw, _getframe(1))

    ns["log"], ns["alog"] = log, alog
    return type(
        f"SafeBoundLoggerFiltering{logging.getLevelName(min_level).title()}", (SafeBoundLogger,), ns
    )


_getframe = sys._getframe
find_caller = _callsite.find_caller
is_infra = _callsite.is_infra
_classes: dict[int, type[SafeBoundLogger]] = {}
_classes_lock = threading.Lock()


def bound_logger_class(min_level: int) -> type[SafeBoundLogger]:
    with _classes_lock:
        cls = _classes.get(min_level)
        if cls is None:
            cls = _classes[min_level] = make_bound_logger_class(min_level)
        return cls
