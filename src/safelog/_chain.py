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

One module past 500 lines on purpose: the generated level methods, `_emit`
and the recursion-limit ring share module globals that the level methods
store into with no call at all (``global _pending``) at the recursion
limit, and read as plain globals on the hot path of every log call; a
second module would turn those into attribute accesses.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
import threading

from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, ClassVar

import structlog

from structlog import BoundLoggerBase

from . import _callsite, _metrics, _scope, _state
from ._dev import DevCapture, DevExplainer
from ._hashkey import HashKey
from ._levels import LEVELS, NAME_TO_LEVEL, RECORD_LEVELS, level_name
from ._names import qualified_type_name
from ._scope import TAKEN
from ._sinks import ConsoleSink, Dispatcher, Sink
from .policy import FieldPolicy
from .processors import (
    DropCounts,
    EventGuard,
    ExceptionSanitizer,
    JSONLineRenderer,
    PolicyFilter,
    add_timestamp,
    render_json,
    render_json_line,
)


__all__ = ["Chain", "SafeBoundLogger", "SinkLogger", "make_bound_logger_class"]

#: The event of a record whose processing failed inside safelog.
MARKER_INTERNAL = "<safelog-internal-error>"

Processor = Callable[[Any, str, dict[str, Any]], Any]


class Chain:
    """The configured processors plus the dispatcher they feed."""

    __slots__ = (
        "active",
        "dispatcher",
        "internal_errors",
        "metadata",
        "min_level",
        "processors",
        "reduced",
    )

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
        #: Records processed without their fields at the recursion limit.
        self.reduced = 0
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
        except RecursionError:
            # Near the recursion limit. If even this fails, the RecursionError
            # reaches the level method, which retries with headroom.
            line = self.reduced_line(logger, method_name, event_dict)
        except BaseException as exc:
            # A hostile __eq__ can raise any BaseException subclass; only the
            # interpreter's own control flow passes through.
            if issubclass(type(exc), _PASS_THROUGH):
                raise
            line = self.fallback_line(method_name, exc)
        self.dispatcher.emit(line)

    def reduced_line(self, logger: Any, method_name: str, event_dict: dict[str, Any]) -> str:
        """
        The record with its event and call site only: every other key is
        dropped and counted (as positional arguments are), for a record that
        cannot be processed whole at the recursion limit.
        """
        self.reduced += 1
        dropped = tuple(k for k in event_dict if k != "event")
        reduced: dict[str, Any] = {"event": event_dict.get("event")}
        if dropped:
            reduced["positional_args"] = dropped
        try:
            result: Any = reduced
            for proc in self.processors:
                result = proc(logger, method_name, result)
        except RecursionError:
            raise
        except BaseException as exc:
            if issubclass(type(exc), _PASS_THROUGH):
                raise
            return self.fallback_line(method_name, exc)
        return result if type(result) is str else self.fallback_line(method_name, None)

    def constant_line(self, method_name: str, event: str, error_type: str | None) -> str:
        """
        A record from trusted parts only: *event* is a constant of safelog's
        own code and *error_type* a checked name of code. For reports made
        while the interpreter finalizes, when the full chain cannot run.
        """
        record: dict[str, Any] = {"timestamp": None}
        add_timestamp(None, method_name, record)
        record["level"] = method_name if method_name in _LEVEL_NAMES else "error"
        record["event"] = event
        record.update(self.metadata)
        if error_type is not None:
            record["error"] = {"type": error_type}
        try:
            return render_json_line(record)
        except Exception:  # noqa: BLE001
            return self.fallback_line(method_name, None)

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


_LEVEL_NAMES = RECORD_LEVELS
_PASS_THROUGH = (KeyboardInterrupt, SystemExit, GeneratorExit)
_LEVEL_NO = {name: number for number, name in LEVELS}
# log.metric(): a metric is not filtered by the log level.
_LEVEL_NO["metric"] = logging.CRITICAL + 1


def current_chain() -> Chain:
    """The chain of the current configuration; before `configure`, the safe default."""
    return _state.current_chain(build_fallback)


def build_state(
    *,
    policy: FieldPolicy,
    key: HashKey | None,
    sinks: tuple[Sink, ...],
    metadata: dict[str, Any],
    level: int,
    generation: int,
    dev: bool = False,
    metrics_namespace: str | None = None,
    scopes: _scope.ScopeOptions | None = None,
) -> _state.State:
    """
    A configuration's chain: context, policy, event guard, exception, then
    (when on) metrics, then the JSON line -- rendered by the scope router
    when buffering or sampling is on. With *dev*, two stages around them
    leave the dev console its notes (`_dev`); the line itself is the same.
    """
    counts = DropCounts()
    policy_filter = PolicyFilter(policy, key, metadata, counts)
    processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        policy_filter,
        EventGuard(counts),
        ExceptionSanitizer(),
    ]
    if dev:
        processors[1:1] = [DevCapture()]
        processors.append(DevExplainer(policy.kinds))
    # Each feature adds its stage only when it is on: with all of them off
    # the chain is exactly what it was before they existed.
    if metrics_namespace is not None and policy.metrics():
        processors.append(
            _metrics.MetricEmbedder(
                policy,
                metrics_namespace,
                {k: metadata[k] for k in ("service", "environment") if k in metadata},
            )
        )
    router = None
    produced = level
    if scopes is not None and scopes.enabled:
        router = _scope.ScopeRouter(
            render_json,
            level=level,
            buffer_level=scopes.buffer_level,
            max_bytes=scopes.max_bytes,
            max_records=scopes.max_records,
            sampling_rate=scopes.sampling_rate,
        )
        processors.append(router)
        if scopes.buffer_level is not None:
            # Records below the level reach the chain only to be buffered.
            produced = min(level, scopes.buffer_level)
    else:
        processors.append(JSONLineRenderer())
    chain = Chain(processors, Dispatcher(sinks), metadata)
    chain.min_level = produced
    if router is not None:
        router.emit = chain.dispatcher.emit
    return _state.State(
        chain=chain,
        policy_filter=policy_filter,
        wrapper_class=bound_logger_class(produced),
        policy=policy,
        level=level,
        generation=generation,
    )


_NAME = re.compile(r"[A-Za-z0-9._:\-]{1,64}\Z")


def infrastructure_metadata(service: str, environment: str | None) -> dict[str, Any]:
    """service, environment, host and pid: the metadata every record carries."""
    meta: dict[str, Any] = {"service": service}
    if environment is not None:
        meta["environment"] = environment
    try:
        host = socket.gethostname()
    except OSError:
        host = None
    # Infrastructure metadata is trusted, but is still checked for shape so
    # nothing odd in the environment can forge a record.
    meta["host"] = host if host and _NAME.match(host) else None
    meta["pid"] = os.getpid()
    return meta


def build_fallback() -> _state.State:
    """The safe default before `configure`: no fields declared, JSON lines on stderr."""
    return build_state(
        policy=FieldPolicy(),
        key=None,
        sinks=(ConsoleSink(None),),
        metadata=infrastructure_metadata("unconfigured", None),
        level=logging.INFO,
        generation=0,
    )


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
    if _pending:
        catch_up()
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
    except RecursionError:
        raise  # the level method retries with headroom
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


def _coerce_level(level: object) -> int:
    """An int level, a level name, or -- for anything else -- INFO: never lose the record."""
    if type(level) is int:
        return level
    if type(level) is str:
        return NAME_TO_LEVEL.get(level.upper(), logging.INFO)
    return logging.INFO


def make_bound_logger_class(min_level: int) -> type[SafeBoundLogger]:
    """
    A `SafeBoundLogger` class whose methods below *min_level* do nothing.

    Long on purpose: each level method is written out with its own
    recursion-limit handler rather than sharing a helper, because a shared
    helper would cost every log call one more Python frame -- time on the
    hot path, and the one frame that is missing at the recursion limit.
    """
    ns: dict[str, Any] = {"_min_level": min_level, "__slots__": ()}

    def make(level: int, name: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
        if level < min_level:
            return _nop, _anop

        def meth(self: SafeBoundLogger, event: Any = None, /, *args: Any, **kw: Any) -> None:
            global _pending  # noqa: PLW0603 -- a store, no call, at the limit
            try:
                _emit(self, name, event, args, kw, _getframe(1))
            except RecursionError as exc:
                # Near the recursion limit: see "records logged at the recursion limit".
                caller = exc.__traceback__.tb_frame.f_back  # type: ignore[union-attr]
                try:
                    _setrecursionlimit(_getrecursionlimit() + HEADROOM)
                except RecursionError:
                    _PARKED[_PARKED_N[0] % _PARK_SIZE] = (self, name, event, args, kw, caller)
                    _PARKED_N[0] += 1
                    _pending = 1
                else:
                    _at_limit(self, name, event, args, kw, caller)

        async def ameth(self: SafeBoundLogger, event: Any = None, /, *args: Any, **kw: Any) -> None:
            global _pending  # noqa: PLW0603 -- a store, no call, at the limit
            try:
                _emit(self, name, event, args, kw, _getframe(1))
            except RecursionError as exc:
                # Near the recursion limit: see "records logged at the recursion limit".
                caller = exc.__traceback__.tb_frame.f_back  # type: ignore[union-attr]
                try:
                    _setrecursionlimit(_getrecursionlimit() + HEADROOM)
                except RecursionError:
                    _PARKED[_PARKED_N[0] % _PARK_SIZE] = (self, name, event, args, kw, caller)
                    _PARKED_N[0] += 1
                    _pending = 1
                else:
                    _at_limit(self, name, event, args, kw, caller)

        meth.__name__ = name
        ameth.__name__ = "a" + name
        return meth, ameth

    for level, name in LEVELS:
        ns[name], ns["a" + name] = make(level, name)
    ns["warn"], ns["awarn"] = ns["warning"], ns["awarning"]
    ns["fatal"], ns["afatal"] = ns["critical"], ns["acritical"]
    ns["msg"], ns["amsg"] = ns["info"], ns["ainfo"]

    if min_level <= logging.ERROR:

        def exception(self: SafeBoundLogger, event: Any = None, /, *args: Any, **kw: Any) -> None:
            global _pending  # noqa: PLW0603 -- a store, no call, at the limit
            if "exc_info" not in kw:  # not setdefault(): no call, see _at_limit
                kw["exc_info"] = True
            try:
                _emit(self, "error", event, args, kw, _getframe(1))
            except RecursionError as exc:
                # Near the recursion limit: see "records logged at the recursion limit".
                caller = exc.__traceback__.tb_frame.f_back  # type: ignore[union-attr]
                try:
                    _setrecursionlimit(_getrecursionlimit() + HEADROOM)
                except RecursionError:
                    _PARKED[_PARKED_N[0] % _PARK_SIZE] = (self, "error", event, args, kw, caller)
                    _PARKED_N[0] += 1
                    _pending = 1
                else:
                    _at_limit(self, "error", event, args, kw, caller)

        async def aexception(
            self: SafeBoundLogger, event: Any = None, /, *args: Any, **kw: Any
        ) -> None:
            global _pending  # noqa: PLW0603 -- a store, no call, at the limit
            if "exc_info" not in kw:  # not setdefault(): no call, see _at_limit
                kw["exc_info"] = True
            try:
                _emit(self, "error", event, args, kw, _getframe(1))
            except RecursionError as exc:
                # Near the recursion limit: see "records logged at the recursion limit".
                caller = exc.__traceback__.tb_frame.f_back  # type: ignore[union-attr]
                try:
                    _setrecursionlimit(_getrecursionlimit() + HEADROOM)
                except RecursionError:
                    _PARKED[_PARKED_N[0] % _PARK_SIZE] = (self, "error", event, args, kw, caller)
                    _PARKED_N[0] += 1
                    _pending = 1
                else:
                    _at_limit(self, "error", event, args, kw, caller)

        ns["exception"], ns["aexception"] = exception, aexception
    else:  # pragma: no cover -- min_level above ERROR
        ns["exception"], ns["aexception"] = _nop, _anop

    def log(
        self: SafeBoundLogger, level: int | str, event: Any = None, /, *args: Any, **kw: Any
    ) -> None:
        global _pending  # noqa: PLW0603 -- a store, no call, at the limit
        lvl = _coerce_level(level)
        if lvl < min_level:
            return
        try:
            _emit(self, level_name(lvl), event, args, kw, _getframe(1))
        except RecursionError as exc:
            # Near the recursion limit: see "records logged at the recursion limit".
            caller = exc.__traceback__.tb_frame.f_back  # type: ignore[union-attr]
            try:
                _setrecursionlimit(_getrecursionlimit() + HEADROOM)
            except RecursionError:
                _PARKED[_PARKED_N[0] % _PARK_SIZE] = (
                    self,
                    level_name(lvl),
                    event,
                    args,
                    kw,
                    caller,
                )
                _PARKED_N[0] += 1
                _pending = 1
            else:
                _at_limit(self, level_name(lvl), event, args, kw, caller)

    async def alog(
        self: SafeBoundLogger, level: int | str, event: Any = None, /, *args: Any, **kw: Any
    ) -> None:
        global _pending  # noqa: PLW0603 -- a store, no call, at the limit
        lvl = _coerce_level(level)
        if lvl < min_level:
            return
        try:
            _emit(self, level_name(lvl), event, args, kw, _getframe(1))
        except RecursionError as exc:
            # Near the recursion limit: see "records logged at the recursion limit".
            caller = exc.__traceback__.tb_frame.f_back  # type: ignore[union-attr]
            try:
                _setrecursionlimit(_getrecursionlimit() + HEADROOM)
            except RecursionError:
                _PARKED[_PARKED_N[0] % _PARK_SIZE] = (
                    self,
                    level_name(lvl),
                    event,
                    args,
                    kw,
                    caller,
                )
                _PARKED_N[0] += 1
                _pending = 1
            else:
                _at_limit(self, level_name(lvl), event, args, kw, caller)

    ns["log"], ns["alog"] = log, alog
    return type(
        f"SafeBoundLoggerFiltering{logging.getLevelName(min_level).title()}", (SafeBoundLogger,), ns
    )


_getframe = sys._getframe
_getrecursionlimit = sys.getrecursionlimit
_setrecursionlimit = sys.setrecursionlimit
#: Frames added to the recursion limit for one record logged at the limit.
HEADROOM = 400

# -- records logged at the recursion limit ------------------------------------
#
# A level method that hits RecursionError first raises the limit for this one
# record (builtins take no Python frame on 3.12+). On 3.10 and 3.11 even a
# builtin call counts, so with fewer than about four frames left nothing can
# be called at all: the method then *parks* the record -- a tuple stored into
# a preallocated ring by subscript, which calls nothing -- with its caller's
# frame, and the next record logged, a flush, `shutdown` or interpreter exit
# processes it at a normal depth. A ring overrun is counted, never silent.

_PARK_SIZE = 64
_PARKED: list[Any] = [None] * _PARK_SIZE
#: [records parked so far]; lists, so that parking is a subscript, not a call.
_PARKED_N = [0]
#: 1 while parked records or a raised recursion limit wait for `catch_up`
#: (an int global: setting it is a store, not a call; testing it is cheap).
_pending = 0
_drained = 0
_lost_at_limit = 0
#: Headroom added to the recursion limit and not yet taken back.
_raised_by = 0
_catch_up_lock = threading.Lock()


def _at_limit(  # noqa: PLR0917 -- the level methods' arguments, as _emit
    bound: SafeBoundLogger,
    method_name: str,
    event: Any,
    args: tuple[Any, ...],
    kw: dict[str, Any],
    caller: FrameType | None,
) -> None:
    """Process one record after the level method raised the limit by `HEADROOM`."""
    global _pending  # noqa: PLW0603 -- a store, no call, at the limit
    global _raised_by  # noqa: PLW0603
    # Taking the headroom back here could fail ("limit too low at this
    # depth"): `catch_up` does it at the next record.
    _raised_by += HEADROOM
    _pending = 1
    try:
        _emit(bound, method_name, event, args, kw, caller)
    except RecursionError:
        _PARKED[_PARKED_N[0] % _PARK_SIZE] = (bound, method_name, event, args, kw, caller)
        _PARKED_N[0] += 1


def catch_up() -> None:
    """Process parked records and take back raised recursion limits (see above)."""
    global _pending  # noqa: PLW0603 -- a store, no call, at the limit
    global _drained, _lost_at_limit, _raised_by  # noqa: PLW0603
    if not _catch_up_lock.acquire(blocking=False):
        return  # another thread (or this one, re-entered) is at it
    try:
        _pending = 0
        while _drained < _PARKED_N[0]:
            n = _drained
            overrun = _PARKED_N[0] - n - _PARK_SIZE
            if overrun > 0:
                _lost_at_limit += overrun
                n += overrun
            slot = n % _PARK_SIZE
            item, _PARKED[slot] = _PARKED[slot], None
            _drained = n + 1
            if item is not None:
                _emit(*item)
        if _raised_by:
            try:
                _setrecursionlimit(_getrecursionlimit() - _raised_by)
                _raised_by = 0
            except (RecursionError, ValueError):
                _pending = 1  # still too deep here: the next record tries again
    finally:
        _catch_up_lock.release()


drain_parked = catch_up


def lost_at_recursion_limit() -> int:
    """Records parked at the recursion limit and overwritten before they could be processed."""
    return _lost_at_limit


find_caller = _callsite.find_caller
is_infra = _callsite.is_infra
_classes: dict[int, type[SafeBoundLogger]] = {}
_classes_lock = threading.RLock()


def bound_logger_class(min_level: int) -> type[SafeBoundLogger]:
    with _classes_lock:
        cls = _classes.get(min_level)
        if cls is None:
            cls = _classes[min_level] = make_bound_logger_class(min_level)
        return cls


class StructlogFactory:
    """structlog's logger factory: every structlog logger feeds a safelog chain."""

    __slots__ = ("chain",)

    def __init__(self, chain: Chain | None) -> None:
        #: None: whatever configuration is current at each call.
        self.chain = chain

    def __call__(self, *args: Any) -> SinkLogger:
        name = args[0] if args and type(args[0]) is str else None
        return SinkLogger(name, self.chain)


def install_structlog_defaults() -> None:
    """
    Point structlog at safelog, unless the service configured structlog itself.

    ``log = structlog.get_logger().bind(...)`` at module level runs before
    `configure`; without this, such a logger keeps structlog's default
    chain (a console renderer on stdout, every value included) for good.
    Its wrapped logger has no chain of its own, so every call goes to the
    chain that is current then: the safe default before `configure`, the
    configured one after.
    """
    if structlog.is_configured():
        return
    structlog.configure(
        processors=[],
        wrapper_class=bound_logger_class(logging.DEBUG),
        logger_factory=StructlogFactory(None),
        context_class=dict,
        cache_logger_on_first_use=False,
    )
