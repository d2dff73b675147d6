"""
`configure` / `shutdown`: apply resolved options, and undo them.

`configure` resolves and validates every option first (`_options`: a wrong
option is an error here, never at log time), then builds the chain, points
structlog and the root stdlib logger at it, installs the hooks and the
process-lifetime handling (`_lifecycle`), and makes it current (`_state`).
`shutdown` flushes first, then puts everything back as it was.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import sys
import time

from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any, Literal, Protocol, cast

import structlog

from . import (
    _callsite,
    _children,
    _dev,
    _hooks,
    _integration,
    _lifecycle,
    _options,
    _state,
    _stdio,
)
from ._chain import (
    StructlogFactory,
    build_fallback,
    build_state,
    drain_parked,
    infrastructure_metadata,
)
from ._health import Problem, self_check, stats
from ._logger import BoundLogger, get_logger
from ._sinks import ConsoleSink, Dispatcher, Sink
from .errors import ConfigurationError
from .policy import FieldPolicy, Kind
from .stdlib import SafelogHandler, bypassing_handlers, describe_handlers, handler_entries


__all__ = [
    "BoundLogger",
    "Problem",
    "SinkFactory",
    "configure",
    "current_state",
    "get_logger",
    "is_configured",
    "self_check",
    "shutdown",
    "stats",
]

ForeignHandlers = Literal["error", "detach"]


class SinkFactory(Protocol):
    """
    What ``cloudwatch=`` accepts: something that makes a sink at configure.

    *report* hands a finished JSON line (a loss record, say) to the other
    sinks, so a sink can say it lost records without writing to itself.
    """

    def create_sink(
        self, metadata: Mapping[str, Any], *, report: Callable[[str], None]
    ) -> Sink: ...


# -- configure ---------------------------------------------------------------


def configure(
    *,
    service: str | None = None,
    fields: Mapping[str, Kind] | FieldPolicy | None = None,
    console: bool | IO[str] | None = None,
    cloudwatch: SinkFactory | None = None,
    sinks: Iterable[Sink] = (),
    level: str | int | None = None,
    hash_key: bytes | str | None = None,
    hash_key_id: str | None = None,
    environment: str | None = None,
    capture_stdlib: bool = True,
    foreign_handlers: ForeignHandlers | None = None,
    skip_modules: Iterable[str] = (),
    shutdown_timeout: float | None = None,
    pyproject: str | os.PathLike[str] | bool = False,
    hooks: bool | Iterable[str] = True,
    handle_sigterm: bool = True,
    stdio: _stdio.StdioMode | None = None,
    dev: bool | None = None,
    metrics_namespace: str | None = None,
    buffer_level: str | None = None,
    buffer_max_bytes: int | None = None,
    buffer_max_records: int | None = None,
    sampling_rate: float | None = None,
) -> None:
    """
    Configure safelog once, at startup.

    *sinks* adds destinations of your own (see `safelog.Sink`): each gets
    every finished, sanitized line, after the console and CloudWatch.

    *hooks* installs safelog's crash and warning hooks: True for all, False
    for none, or names from ``"excepthook"``, ``"threading"``,
    ``"unraisable"``, ``"warnings"``, ``"multiprocessing"`` (an exception
    ending a ``multiprocessing`` child becomes a record, not CPython's
    traceback on stderr); `shutdown` restores the previous ones.

    *stdio* ``"guard"`` turns text written to ``sys.stdout``/``sys.stderr``
    by anything but safelog's sinks (``print()``, ``traceback.print_exc()``,
    libraries) into metadata records; ``"off"`` (the default) leaves them.

    *handle_sigterm*: when SIGTERM still has its default action, flush every
    sink within *shutdown_timeout* on SIGTERM, then end as SIGTERM would.

    *dev* (or ``SAFELOG_DEV=1``) turns the console into the development
    console: readable records, dropped fields by name and reason, exception
    messages -- on the console only, never in what any other sink gets. It
    refuses to start with a CloudWatch sink or under a managed runtime
    (Lambda, ECS, Kubernetes, ...).
    *metrics_namespace* is the CloudWatch namespace of the fields declared
    with ``metric=`` (records carrying them are written in the Embedded
    Metric Format); *buffer_level* (``"DEBUG"`` or ``"INFO"``) holds records
    at or below it inside `safelog.buffered` scopes until an error, in a
    buffer of at most *buffer_max_bytes* and *buffer_max_records*;
    *sampling_rate* keeps the DEBUG/INFO records of that share of scopes.
    See docs/metrics.md.

    Every option may also come from a ``SAFELOG_*`` environment variable
    (``SAFELOG_SERVICE``, ``SAFELOG_ENVIRONMENT``, ``SAFELOG_LEVEL``,
    ``SAFELOG_HASH_KEY``, ``SAFELOG_HASH_KEY_ID``, ``SAFELOG_CONSOLE``,
    ``SAFELOG_STDIO``), and
    with *pyproject* (``True`` to search from the current directory, or a
    path) the fields and plain options from ``[tool.safelog]``. Precedence:
    explicit argument, then environment, then the file, then the default
    (``foreign_handlers="detach"``, ``shutdown_timeout=5``).

    *foreign_handlers*: stdlib handlers on other loggers (uvicorn's,
    gunicorn's, Django's, Celery's) would see records before the chain. By
    default (``"detach"``) they are taken off until `shutdown` and their
    loggers propagate to the chain; one ``stdlib_handlers_taken_over``
    record names them (handler class and logger, names of code only).
    ``"error"`` is the strict mode: refuse to start and name them.

    Raises:
        ConfigurationError: an option is wrong, or safelog is already
            configured (call `shutdown` first). The message names the
            option, never a value.
    """
    args = dict(locals())
    intercept = _state.interceptor()
    if intercept is not None:
        intercept(args)
    with _state.changing():
        if _state.current() is not None:
            msg = "safelog is already configured; call safelog.shutdown() before configuring again"
            raise ConfigurationError(msg)
        extra = _check_sinks(sinks)
        _check_factory(cloudwatch)
        sigterm_flag: object = handle_sigterm  # typed bool, but callers may pass anything
        if type(sigterm_flag) is not bool:
            msg = "handle_sigterm: must be True or False"
            raise ConfigurationError(msg)
        opts = _options.resolve(**{k: v for k, v in args.items() if k in _RESOLVED})
        if opts.dev and cloudwatch is not None:
            reason = _dev.refusal(cloudwatch=True, environ=os.environ)
            raise ConfigurationError(reason)
        _apply(opts, cloudwatch, extra, handle_sigterm=handle_sigterm)


_RESOLVED = frozenset(
    {
        "service",
        "fields",
        "console",
        "level",
        "hash_key",
        "hash_key_id",
        "environment",
        "capture_stdlib",
        "foreign_handlers",
        "skip_modules",
        "shutdown_timeout",
        "pyproject",
        "hooks",
        "stdio",
        "dev",
        "metrics_namespace",
        "buffer_level",
        "buffer_max_bytes",
        "buffer_max_records",
        "sampling_rate",
    }
)


def _check_sinks(sinks: object) -> tuple[Sink, ...]:
    if isinstance(sinks, (str, bytes)) or not isinstance(sinks, Iterable):
        msg = "sinks: must be a list of sinks (objects with write, flush and close)"
        raise ConfigurationError(msg)
    out = tuple(sinks)
    for sink in out:
        if isinstance(sink, type) or not all(
            callable(getattr(sink, m, None)) for m in ("write", "flush", "close")
        ):
            msg = (
                "sinks: each sink must be an instance with write(line), flush(timeout) "
                "and close(timeout); see safelog.Sink"
            )
            raise ConfigurationError(msg)
    return out


def _check_factory(cloudwatch: object) -> None:
    if cloudwatch is None:
        return
    if isinstance(cloudwatch, type):
        msg = (
            "cloudwatch: got a class; pass an instance, "
            "e.g. cloudwatch=safelog.CloudWatch(log_group=...)"
        )
        raise ConfigurationError(msg)
    if not callable(getattr(cloudwatch, "create_sink", None)):
        msg = "cloudwatch: must be a safelog.CloudWatch(...) instance or None"
        raise ConfigurationError(msg)


def _console_sink(choice: _options.ConsoleChoice, *, dev: bool = False) -> Sink | None:
    make: Callable[[IO[str] | None], Sink] = _dev.DevConsoleSink if dev else ConsoleSink
    if choice is True:
        return make(None)
    if choice is False:
        return None
    if choice == "stdout":
        return make(sys.stdout)
    return make(cast("IO[str]", choice))


def _make_sinks(
    opts: _options.Options,
    cloudwatch: SinkFactory | None,
    extra: tuple[Sink, ...],
    metadata: Mapping[str, Any],
) -> tuple[tuple[Sink, ...], Callable[[Dispatcher], None]]:
    """The sinks in order, and the function that tells a reporting sink its dispatcher."""
    sinks: list[Sink] = []
    console = _console_sink(opts.console, dev=opts.dev)
    if console is not None:
        sinks.append(console)
    holder: list[Dispatcher] = []
    if cloudwatch is not None:
        made: list[Sink] = []

        alone = console is None and not extra

        def report(line: str) -> None:
            # A sink's own loss record goes to the *other* sinks; with none,
            # to stderr: a loss is never silent.
            if alone:
                with contextlib.suppress(Exception):
                    sys.stderr.write(line + "\n")
                    sys.stderr.flush()
            elif holder and made:
                holder[0].emit_except(made[0], line)

        made.append(_create_sink(cloudwatch, dict(metadata), report))
        sinks.append(made[0])
    sinks.extend(extra)
    return tuple(sinks), holder.append


def _create_sink(
    factory: SinkFactory, metadata: dict[str, Any], report: Callable[[str], None]
) -> Sink:
    # No network here: the sink connects on its first send. Factories
    # written before `report` existed take the metadata alone.
    try:
        accepts = "report" in inspect.signature(factory.create_sink).parameters
    except (TypeError, ValueError):
        accepts = False
    if accepts:
        return factory.create_sink(metadata, report=report)
    return cast("Any", factory).create_sink(metadata)  # type: ignore[no-any-return]


def _apply(
    opts: _options.Options,
    cloudwatch: SinkFactory | None,
    extra: tuple[Sink, ...],
    *,
    handle_sigterm: bool,
) -> None:
    """Build and install the configuration *opts* describes (under `_state.changing`)."""
    # SIGTERM first: a sink made below must find it taken (the CloudWatch
    # sink installs its own handler only where SIGTERM has its default).
    sigterm = handle_sigterm and getattr(cloudwatch, "handle_sigterm", True) is not False
    if sigterm:
        _lifecycle.install_sigterm()
    try:
        _build_and_install(opts, cloudwatch, extra)
    except BaseException:
        _lifecycle.restore_sigterm()
        raise


def _build_and_install(
    opts: _options.Options, cloudwatch: SinkFactory | None, extra: tuple[Sink, ...]
) -> None:
    metadata = infrastructure_metadata(opts.service, opts.environment)
    sinks, give_dispatcher = _make_sinks(opts, cloudwatch, extra, metadata)
    state = build_state(
        policy=opts.policy,
        key=opts.key,
        sinks=sinks,
        metadata=metadata,
        level=opts.level,
        generation=_state.next_generation(),
        dev=opts.dev,
        metrics_namespace=opts.metrics_namespace,
        scopes=opts.scopes,
    )
    give_dispatcher(state.chain.dispatcher)
    state.shutdown_timeout = opts.shutdown_timeout
    taken_over: list[str] = []
    if opts.capture_stdlib:
        handler = SafelogHandler(state.chain, opts.level)
        try:
            state.saved = _take_over_logging(handler, opts.level, opts.foreign_handlers)
            taken_over = handler_entries(
                [(lg, h) for lg, hs, _ in state.saved.detached for h in hs]
            )
        except ConfigurationError:
            state.chain.dispatcher.close(0.1)
            raise
        state.handler = handler
    _callsite.set_skipped_modules(opts.skip_modules)
    state.saved_structlog = structlog.get_config()
    structlog.configure(
        processors=cast("Any", list(state.chain.processors)),
        wrapper_class=state.wrapper_class,
        logger_factory=StructlogFactory(state.chain),
        context_class=dict,
        cache_logger_on_first_use=False,
    )
    state.on_shutdown.append(_hooks.install(opts.hooks))
    if "multiprocessing" in opts.hooks:
        state.on_shutdown.append(_children.install(opts.shutdown_timeout))
    if opts.stdio == "guard":
        state.on_shutdown.append(_stdio.install(state.chain))
    _state.install(state)
    _lifecycle.on_configure(opts.shutdown_timeout)
    if taken_over:
        _report_taken_over(taken_over)


def _report_taken_over(handlers: list[str]) -> None:
    # One record, so an operator sees which handlers no longer write on
    # their own. The list holds names of code only (describe_handlers).
    _integration.emit_trusted(
        "safelog",
        "info",
        "stdlib_handlers_taken_over",
        sys._getframe(),
        {"handlers_taken_over": handlers},
    )


def _take_over_logging(
    handler: SafelogHandler, level: int, foreign: ForeignHandlers
) -> _state.SavedLogging:
    root = logging.getLogger()
    bypass = [(lg, h) for lg, h in bypassing_handlers() if lg is not root]
    if bypass and foreign == "error":
        msg = (
            "stdlib handlers would bypass safelog's chain: "
            f"{describe_handlers(bypass)}. Remove them, or leave foreign_handlers at its "
            "default ('detach') to take them over until shutdown()"
        )
        raise ConfigurationError(msg)
    saved = _state.SavedLogging(
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


def _restore_logging(state: _state.State) -> None:
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


# -- shutdown ----------------------------------------------------------------


def shutdown(timeout: float | None = None) -> None:
    """
    Flush every sink (waiting at most *timeout* seconds, default the
    configured ``shutdown_timeout``), then restore stdlib logging, the hooks
    and structlog as they were, and allow `configure` again. Safe to call
    twice. Every step runs even if an earlier one fails.

    For tests and explicit teardown: at interpreter exit safelog only
    flushes and closes, and leaves its handlers and hooks in place, so
    records logged while the interpreter exits are still sanitized.
    """
    with _state.changing():
        state = _state.current()
        if state is None:
            return
        budget = state.shutdown_timeout if timeout is None else timeout
        deadline = time.monotonic() + max(budget, 0.0)
        steps: list[Callable[[], object]] = [
            drain_parked,
            # Flush first: the handlers and hooks are still in place meanwhile.
            lambda: state.chain.dispatcher.flush(budget),
            _state.retire,
            *reversed(state.on_shutdown),
            lambda: _restore_logging(state),
            lambda: _restore_structlog(state),
            lambda: _callsite.set_skipped_modules(()),
            _lifecycle.on_shutdown,
            # What was logged during the steps above is flushed by close().
            lambda: state.chain.dispatcher.close(max(deadline - time.monotonic(), 0.0)),
        ]
        for step in steps:
            with contextlib.suppress(Exception):
                step()
        state.chain.active = False


def _restore_structlog(state: _state.State) -> None:
    if state.saved_structlog is not None:
        structlog.configure(**state.saved_structlog)


def current_state() -> _state.State:
    """
    The active state; before `configure`, the safe default (no fields, stderr).
    Kept for modules written against it; new code uses `_state` directly.
    """
    return _state.current_or_fallback(build_fallback)


def is_configured() -> bool:
    """Whether `configure` has run (and `shutdown` has not)."""
    return _state.current() is not None
