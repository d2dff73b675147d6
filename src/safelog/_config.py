"""
`configure` / `shutdown`: the one place that holds global state.

`configure` validates everything up front (a wrong option is an error here,
never at log time), freezes the policy, builds the chain, points structlog
and the root stdlib logger at it, and checks that nothing bypasses it.
`shutdown` flushes every sink and puts logging back as it was.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import logging
import os
import re
import socket
import sys
import threading
import weakref

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Literal, Protocol, cast

import structlog

from . import _callsite, _hooks
from . import _chain as _chain_module
from ._chain import Chain, Processor, SafeBoundLogger, SinkLogger, bound_logger_class
from ._sinks import ConsoleSink, Dispatcher, Sink
from .policy import ConfigurationError, FieldPolicy, HashKey, Kind, make_hash_key
from .processors import (
    EventGuard,
    ExceptionSanitizer,
    JSONLineRenderer,
    PolicyFilter,
)
from .stdlib import SafelogHandler


__all__ = [
    "configure",
    "get_logger",
    "is_configured",
    "self_check",
    "shutdown",
    "stats",
]

_SERVICE = re.compile(r"[A-Za-z0-9._:\-]{1,64}\Z")
_LEVELS = _chain_module.NAME_TO_LEVEL
_TRUE = frozenset({"1", "true", "yes", "on", "stderr"})
_FALSE = frozenset({"0", "false", "no", "off", "none", ""})
_DEFAULT_SHUTDOWN_TIMEOUT = 5.0

ForeignHandlers = Literal["error", "detach"]


class SinkFactory(Protocol):
    """What ``cloudwatch=`` accepts: something that makes a sink at configure."""

    def create_sink(
        self, metadata: Mapping[str, Any], *, report: Callable[[str], None] | None = None
    ) -> Sink: ...


@dataclass
class _SavedLogging:
    root_handlers: list[logging.Handler]
    root_level: int
    last_resort: logging.Handler | None
    detached: list[tuple[logging.Logger, list[logging.Handler], bool]] = field(default_factory=list)


@dataclass
class _State:
    chain: Chain
    policy_filter: PolicyFilter
    wrapper_class: type[SafeBoundLogger]
    policy: FieldPolicy
    level: int
    generation: int
    handler: SafelogHandler | None = None
    saved: _SavedLogging | None = None
    saved_structlog: dict[str, Any] | None = None
    on_shutdown: list[Callable[[], None]] = field(default_factory=list)
    shutdown_timeout: float = _DEFAULT_SHUTDOWN_TIMEOUT


_lock = threading.RLock()
_state: _State | None = None
_fallback: _State | None = None
_generation = 0


# -- options ---------------------------------------------------------------


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value is not None and value.strip() != "" else None


def _resolve_level(level: str | int | None, default: object = None) -> int:
    if level is None:
        level = _env("SAFELOG_LEVEL") or default or "INFO"  # type: ignore[assignment]
    if isinstance(level, bool):
        msg = "level: must be a level name such as 'INFO' or a logging level int"
        raise ConfigurationError(msg)
    if isinstance(level, int):
        if level not in _LEVELS.values():
            msg = "level: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
            raise ConfigurationError(msg)
        return level
    if isinstance(level, str) and level.strip().upper() in _LEVELS:
        return _LEVELS[level.strip().upper()]
    msg = "level: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
    raise ConfigurationError(msg)


def _resolve_name(value: str | None, env: str, option: str, default: object) -> str | None:
    if value is None:
        value = _env(env) or default  # type: ignore[assignment]
    if value is None:
        return None
    if not isinstance(value, str) or not _SERVICE.match(value):
        msg = f"{option}: must be 1 to 64 characters from [A-Za-z0-9._:-]"
        raise ConfigurationError(msg)
    return value


def _resolve_console(console: bool | IO[str] | None) -> Sink | None:
    if console is None:
        raw = _env("SAFELOG_CONSOLE")
        if raw is None or raw.strip().lower() in _TRUE:
            console = True
        elif raw.strip().lower() == "stdout":
            return ConsoleSink(sys.stdout)
        elif raw.strip().lower() in _FALSE:
            console = False
        else:
            msg = "SAFELOG_CONSOLE: must be true, false or stdout"
            raise ConfigurationError(msg)
    if console is True:
        return ConsoleSink(None)
    if console is False:
        return None
    if callable(getattr(console, "write", None)):
        return ConsoleSink(console)
    msg = "console: must be True, False or a text stream"
    raise ConfigurationError(msg)


def _decode_key(raw: str) -> bytes:
    # "base64:..." and "hex:..." let a binary key live in an env var.
    try:
        if raw.startswith("base64:"):
            return base64.b64decode(raw[7:], validate=True)
        if raw.startswith("hex:"):
            return bytes.fromhex(raw[4:])
    except (binascii.Error, ValueError):
        msg = "SAFELOG_HASH_KEY: the base64:/hex: value does not decode"
        raise ConfigurationError(msg) from None
    return raw.encode("utf-8")


def _resolve_key(hash_key: bytes | str | None, key_id: str | None) -> HashKey | None:
    if key_id is None:
        key_id = _env("SAFELOG_HASH_KEY_ID")
    if hash_key is None:
        raw = _env("SAFELOG_HASH_KEY")
        if raw is None:
            return None
        return make_hash_key(_decode_key(raw), key_id)
    return make_hash_key(hash_key, key_id)


def _resolve_policy(fields: object) -> FieldPolicy:
    if fields is None:
        return FieldPolicy()
    if isinstance(fields, FieldPolicy):
        return fields
    if not isinstance(fields, Mapping):
        msg = "fields: must be a mapping of field name to safelog kind"
        raise ConfigurationError(msg)
    return FieldPolicy(fields)


# -- building ----------------------------------------------------------------


def _build(
    *,
    policy: FieldPolicy,
    key: HashKey | None,
    sinks: tuple[Sink, ...],
    metadata: dict[str, Any],
    level: int,
    generation: int,
) -> _State:
    policy_filter = PolicyFilter(policy, key, metadata)
    processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        policy_filter,
        EventGuard(),
        ExceptionSanitizer(),
        JSONLineRenderer(),
    ]
    chain = Chain(processors, Dispatcher(sinks), metadata)
    chain.min_level = level
    return _State(
        chain=chain,
        policy_filter=policy_filter,
        wrapper_class=bound_logger_class(level),
        policy=policy,
        level=level,
        generation=generation,
    )


def _report_to(sinks: tuple[Sink, ...]) -> Callable[[str], None]:
    """Hand a finished line to *sinks* (a sink's records about itself)."""

    def report(line: str) -> None:
        for sink in sinks:
            sink.write(line)

    return report


def _metadata(service: str, environment: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"service": service}
    if environment is not None:
        meta["environment"] = environment
    try:
        host = socket.gethostname()
    except OSError:
        host = None
    # Infrastructure metadata is trusted, but is still checked for shape so
    # nothing odd in the environment can forge a record.
    meta["host"] = host if host and _SERVICE.match(host) else None
    meta["pid"] = os.getpid()
    return meta


def _is_ours(handler: logging.Handler) -> bool:
    return isinstance(handler, SafelogHandler)


def _bypassing_handlers() -> list[tuple[logging.Logger, logging.Handler]]:
    """Handlers that would see stdlib records before safelog's chain."""
    found: list[tuple[logging.Logger, logging.Handler]] = []
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers.extend(
        obj
        for obj in list(logging.Logger.manager.loggerDict.values())
        if isinstance(obj, logging.Logger)
    )
    found.extend(
        (lg, h)
        for lg in loggers
        for h in list(lg.handlers)
        if not _is_ours(h) and not isinstance(h, logging.NullHandler)
    )
    return found


def _describe(pairs: Iterable[tuple[logging.Logger, logging.Handler]]) -> str:
    # Logger names can be built at runtime; only module names are shown.
    parts = []
    for lg, h in pairs:
        name = lg.name if (lg.name in sys.modules or lg.name == "root") else "<logger>"
        parts.append(f"{type(h).__module__}.{type(h).__qualname__} on {name}")
    return ", ".join(sorted(set(parts)))


def _take_over_logging(
    handler: SafelogHandler, level: int, foreign: ForeignHandlers
) -> _SavedLogging:
    root = logging.getLogger()
    bypass = [(lg, h) for lg, h in _bypassing_handlers() if lg is not root]
    if bypass and foreign == "error":
        msg = (
            "stdlib handlers would bypass safelog's chain: "
            f"{_describe(bypass)}. Remove them, or pass "
            "foreign_handlers='detach' to detach them until shutdown()"
        )
        raise ConfigurationError(msg)
    saved = _SavedLogging(
        root_handlers=list(root.handlers),
        root_level=root.level,
        last_resort=logging.lastResort,
    )
    by_logger: dict[int, tuple[logging.Logger, list[logging.Handler]]] = {}
    for lg, h in bypass:
        by_logger.setdefault(id(lg), (lg, []))[1].append(h)
    for lg, hs in by_logger.values():
        saved.detached.append((lg, hs, lg.propagate))
        for h in hs:
            lg.removeHandler(h)
        # With its handlers gone it must propagate, or its records vanish.
        lg.propagate = True
    root.handlers = [handler]
    root.setLevel(level)
    # Records of loggers with no handler anywhere go to lastResort, which
    # prints the interpolated message to stderr.
    logging.lastResort = handler
    return saved


def _restore_logging(state: _State) -> None:
    saved = state.saved
    if saved is None:
        return
    root = logging.getLogger()
    root.handlers = list(saved.root_handlers)
    root.setLevel(saved.root_level)
    logging.lastResort = saved.last_resort
    for lg, hs, propagate in saved.detached:
        for h in hs:
            lg.addHandler(h)
        lg.propagate = propagate


# -- public API --------------------------------------------------------------


def configure(
    *,
    service: str | None = None,
    fields: Mapping[str, Kind] | FieldPolicy | None = None,
    console: bool | IO[str] | None = None,
    cloudwatch: SinkFactory | None = None,
    level: str | int | None = None,
    hash_key: bytes | str | None = None,
    hash_key_id: str | None = None,
    environment: str | None = None,
    capture_stdlib: bool = True,
    foreign_handlers: ForeignHandlers = "error",
    skip_modules: Iterable[str] = (),
    shutdown_timeout: float | None = None,
    pyproject: str | os.PathLike[str] | bool = False,
    hooks: bool | Iterable[str] = True,
) -> None:
    """
    Configure safelog once, at startup.

    *hooks* installs safelog's crash and warning hooks: True for all, False
    for none, or names from ``"excepthook"``, ``"threading"``,
    ``"unraisable"``, ``"warnings"``; `shutdown` restores the previous ones.

    Every option may also come from a ``SAFELOG_*`` environment variable
    (``SAFELOG_SERVICE``, ``SAFELOG_ENVIRONMENT``, ``SAFELOG_LEVEL``,
    ``SAFELOG_HASH_KEY``, ``SAFELOG_HASH_KEY_ID``, ``SAFELOG_CONSOLE``), and
    with *pyproject* (``True`` to search from the current directory, or a
    path) the fields and plain options from ``[tool.safelog]``. Precedence:
    explicit argument, then environment, then the file, then the default.

    Raises:
        ConfigurationError: an option is wrong, or safelog is already
            configured (call `shutdown` first). The message names the
            option, never a value.
    """
    global _state, _generation  # noqa: PLW0603
    with _lock:
        if _state is not None:
            msg = "safelog is already configured; call safelog.shutdown() before configuring again"
            raise ConfigurationError(msg)
        file_options: Mapping[str, Any] = {}
        if pyproject is not False:
            from . import _pyproject

            found = _pyproject.load(None if pyproject is True else pyproject)
            if found is None:
                msg = "pyproject: no pyproject.toml with a [tool.safelog] table was found"
                raise ConfigurationError(msg)
            file_options = found.options
            if fields is None:
                fields = found.fields
            if console is None and "console" in file_options and _env("SAFELOG_CONSOLE") is None:
                console = file_options["console"]
            if foreign_handlers == "error":
                foreign_handlers = file_options.get("foreign_handlers", "error")
            if shutdown_timeout is None:
                shutdown_timeout = file_options.get("shutdown_timeout")
        if shutdown_timeout is None:
            shutdown_timeout = _DEFAULT_SHUTDOWN_TIMEOUT
        svc = _resolve_name(service, "SAFELOG_SERVICE", "service", file_options.get("service"))
        if svc is None:
            msg = "service: required (argument or SAFELOG_SERVICE)"
            raise ConfigurationError(msg)
        env = _resolve_name(
            environment, "SAFELOG_ENVIRONMENT", "environment", file_options.get("environment")
        )
        lvl = _resolve_level(level, file_options.get("level"))
        policy = _resolve_policy(fields)
        key = _resolve_key(hash_key, hash_key_id)
        if policy.needs_key() and key is None:
            msg = (
                "hash_key: the policy has Hashed fields but no key is configured "
                "(hash_key= or SAFELOG_HASH_KEY)"
            )
            raise ConfigurationError(msg)
        if foreign_handlers not in ("error", "detach"):
            msg = "foreign_handlers: must be 'error' or 'detach'"
            raise ConfigurationError(msg)
        if (
            isinstance(shutdown_timeout, bool)
            or not isinstance(shutdown_timeout, (int, float))
            or not 0 < shutdown_timeout <= 300
        ):
            msg = "shutdown_timeout: must be a number of seconds from 0 to 300"
            raise ConfigurationError(msg)
        skip = tuple(skip_modules)
        if any(type(m) is not str or not m for m in skip):
            msg = "skip_modules: must be module names"
            raise ConfigurationError(msg)
        if cloudwatch is not None and not callable(getattr(cloudwatch, "create_sink", None)):
            msg = "cloudwatch: must be a safelog.CloudWatch(...) or None"
            raise ConfigurationError(msg)
        hook_names = _hooks.resolve_hooks(hooks)

        metadata = _metadata(svc, env)
        sinks: list[Sink] = []
        console_sink = _resolve_console(console)
        if console_sink is not None:
            sinks.append(console_sink)
        if cloudwatch is not None:
            # No network here: the sink connects on its first send. Its own
            # records (losses, failures) go to the other sinks, else stderr.
            report = _report_to(tuple(sinks)) if sinks else None
            sinks.append(cloudwatch.create_sink(dict(metadata), report=report))

        _generation += 1
        state = _build(
            policy=policy,
            key=key,
            sinks=tuple(sinks),
            metadata=metadata,
            level=lvl,
            generation=_generation,
        )
        state.shutdown_timeout = float(shutdown_timeout)
        _callsite.set_skipped_modules(skip)

        if capture_stdlib:
            handler = SafelogHandler(state.chain, lvl)
            try:
                state.saved = _take_over_logging(handler, lvl, foreign_handlers)
            except ConfigurationError:
                state.chain.dispatcher.close(0.1)
                raise
            state.handler = handler

        state.saved_structlog = structlog.get_config()
        structlog.configure(
            processors=cast("Any", list(state.chain.processors)),
            wrapper_class=state.wrapper_class,
            logger_factory=_StructlogFactory(state.chain),
            context_class=dict,
            cache_logger_on_first_use=False,
        )
        state.on_shutdown.append(_hooks.install(hook_names))
        _state = state
        _invalidate_proxies()
        atexit.register(_at_exit)


def shutdown(timeout: float | None = None) -> None:
    """
    Flush every sink (waiting at most *timeout* seconds, default the
    configured ``shutdown_timeout``), restore stdlib logging and structlog
    as they were, and allow `configure` again. Safe to call twice.
    """
    global _state  # noqa: PLW0603
    with _lock:
        state = _state
        if state is None:
            return
        _state = None
        _invalidate_proxies()
        atexit.unregister(_at_exit)
        deadline = state.shutdown_timeout if timeout is None else timeout
        for fn in reversed(state.on_shutdown):
            try:
                fn()
            except Exception:  # noqa: BLE001, S112 -- restoring must go on
                continue
        _restore_logging(state)
        state.chain.active = False
        if state.saved_structlog is not None:
            structlog.configure(**state.saved_structlog)
        _callsite.set_skipped_modules(())
        state.chain.dispatcher.close(deadline)


def _at_exit() -> None:
    shutdown()


def is_configured() -> bool:
    """Whether `configure` has run (and `shutdown` has not)."""
    return _state is not None


def current_state() -> _State:
    """The active state; before `configure`, a safe default (no fields, stderr)."""
    global _fallback  # noqa: PLW0603
    state = _state
    if state is not None:
        return state
    with _lock:
        if _fallback is None:
            _fallback = _build(
                policy=FieldPolicy(),
                key=None,
                sinks=(ConsoleSink(None),),
                metadata=_metadata("unconfigured", None),
                level=logging.INFO,
                generation=0,
            )
        return _fallback


class _StructlogFactory:
    """structlog's logger factory: every structlog logger feeds our chain."""

    __slots__ = ("chain",)

    def __init__(self, chain: Chain | None) -> None:
        self.chain = chain

    def __call__(self, *args: Any) -> SinkLogger:
        name = args[0] if args and type(args[0]) is str else None
        return SinkLogger(name, self.chain)


_CACHED_METHODS = frozenset(
    {
        "debug",
        "info",
        "msg",
        "warning",
        "warn",
        "error",
        "exception",
        "critical",
        "fatal",
        "log",
    }
)
_proxies: weakref.WeakSet[_LazyLogger] = weakref.WeakSet()


def _invalidate_proxies() -> None:
    for proxy in list(_proxies):
        proxy.__dict__.clear()


class _LazyLogger:
    """
    What `get_logger` returns: resolves to a bound logger of the *current*
    configuration, so module-level loggers made before `configure` work and
    follow a later `shutdown`/`configure`.

    Level methods are cached on the instance after first use (no proxy cost
    per call); `configure` and `shutdown` clear those caches.
    """

    __slots__ = ("__dict__", "__weakref__", "_bound", "_generation", "_initial", "_name")

    def __init__(self, name: str | None, initial: dict[str, Any]) -> None:
        self._name = name
        self._initial = initial
        self._generation = -1
        self._bound: SafeBoundLogger | None = None
        _proxies.add(self)

    def _resolve(self) -> SafeBoundLogger:
        state = current_state()
        bound = self._bound
        if bound is None or self._generation != state.generation:
            bound = state.wrapper_class(
                SinkLogger(self._name, state.chain),
                cast("Any", list(state.chain.processors)),
                dict(self._initial),
            )
            self._bound = bound
            self._generation = state.generation
        return bound

    # bind/new stay lazy: a logger bound at import time, before configure(),
    # must still follow the configuration (level, policy, sinks) made later.
    def bind(self, **values: Any) -> _LazyLogger:
        return _LazyLogger(self._name, {**self._initial, **values})

    def new(self, **values: Any) -> _LazyLogger:
        return _LazyLogger(self._name, dict(values))

    def unbind(self, *keys: str) -> _LazyLogger:
        initial = dict(self._initial)
        for key in keys:
            del initial[key]
        return _LazyLogger(self._name, initial)

    def try_unbind(self, *keys: str) -> _LazyLogger:
        initial = dict(self._initial)
        for key in keys:
            initial.pop(key, None)
        return _LazyLogger(self._name, initial)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        bound = self._resolve()
        attr = getattr(bound, name)
        if name in _CACHED_METHODS and self._generation == _generation_now():
            self.__dict__[name] = attr
        return attr

    def __repr__(self) -> str:
        return "<safelog logger>"


def _generation_now() -> int:
    state = _state
    return 0 if state is None else state.generation


def get_logger(name: str | None = None, **initial_values: Any) -> Any:
    """
    Return a structlog logger whose records go through safelog's chain.

    *name* is usually ``__name__``; *initial_values* are bound context and go
    through the field policy like any other value.
    """
    return _LazyLogger(name, dict(initial_values))


def self_check() -> list[str]:
    """
    Problems that would let records bypass the chain, as metadata-only
    sentences; an empty list means none were found.
    """
    problems: list[str] = []
    state = _state
    if state is None:
        return ["safelog is not configured"]
    if state.handler is not None:
        root = logging.getLogger()
        if state.handler not in root.handlers:
            problems.append(
                "the root logger no longer has safelog's handler (was logging reconfigured?)"
            )
        bypass = _bypassing_handlers()
        if bypass:
            problems.append(f"stdlib handlers bypass safelog: {_describe(bypass)}")
    cfg = structlog.get_config()
    if (
        not isinstance(cfg["logger_factory"], _StructlogFactory)
        or cfg["logger_factory"].chain is not state.chain
        # Another wrapper class would run processors safelog does not control.
        or not (
            isinstance(cfg["wrapper_class"], type)
            and issubclass(cfg["wrapper_class"], SafeBoundLogger)
        )
    ):
        problems.append("structlog was reconfigured after safelog.configure()")
    return problems


def stats() -> dict[str, int]:
    """Loss and error counters, metadata only."""
    state = _state
    if state is None:
        return {}
    out = {
        "internal_errors": state.chain.internal_errors,
        "sink_errors": state.chain.dispatcher.errors,
    }
    if state.handler is not None:
        out["stdlib_suppressed"] = state.handler.suppressed
        out["stdlib_errors"] = state.handler.errors
    for sink in state.chain.dispatcher.sinks:
        sink_stats = getattr(sink, "stats", None)
        if callable(sink_stats):
            out.update(sink_stats())
    return out


def _after_fork_in_child() -> None:
    state = _state
    if state is not None:
        state.policy_filter.update_metadata(pid=os.getpid())
        state.chain.metadata["pid"] = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


_chain_module.current_chain = lambda: current_state().chain


def _install_structlog_defaults() -> None:
    """
    Point structlog at safelog as soon as safelog is imported, unless the
    service configured structlog itself already.

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
        logger_factory=_StructlogFactory(None),
        context_class=dict,
        cache_logger_on_first_use=False,
    )


_install_structlog_defaults()
