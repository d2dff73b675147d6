"""
`self_check` and `stats`: is the chain still in front of everything, and
what was lost. Metadata only.
"""

from __future__ import annotations

import logging

import structlog

from . import _context, _hooks, _metrics, _scope, _state, _stdio
from ._chain import SafeBoundLogger, StructlogFactory, lost_at_recursion_limit
from .stdlib import bypassing_handlers, describe_handlers


__all__ = ["Problem", "self_check", "stats"]


class Problem(str):
    """
    One thing that lets records bypass the chain, as `self_check` reports it.

    A `str` (the constant, metadata-only message, as before) that also has
    ``code`` (stable, for alerting: ``"handler-bypass"``...) and ``name``
    (what it concerns, a name of code such as ``"sys.excepthook"``, or "").
    """

    __slots__ = ("code", "name")

    code: str
    name: str

    def __new__(cls, code: str, message: str, name: str = "") -> Problem:
        self = super().__new__(cls, message)
        self.code = code
        self.name = name
        return self

    @property
    def message(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"Problem({self.code!r}, {self.message!r}, name={self.name!r})"


def self_check(*, reinstall_hooks: bool = False) -> list[Problem]:
    """
    Problems that would let records bypass the chain; an empty list means
    none were found. Each is a `Problem`: a string (a metadata-only
    sentence, as before) with a ``code`` and a ``name``.

    With *reinstall_hooks*, safelog's crash and warning hooks that something
    replaced since `configure` are put back (and still reported, code
    ``"hook-replaced"``): call it from a periodic health check to keep
    them in place.
    """
    state = _state.current()
    if state is None:
        return [Problem("not-configured", "safelog is not configured")]
    problems: list[Problem] = []
    if state.handler is not None:
        if state.handler not in logging.getLogger().handlers:
            problems.append(
                Problem(
                    "root-handler-missing",
                    "the root logger no longer has safelog's handler (was logging reconfigured?)",
                    "root",
                )
            )
        bypass = bypassing_handlers()
        if bypass:
            problems.append(
                Problem(
                    "handler-bypass",
                    f"stdlib handlers bypass safelog: {describe_handlers(bypass)}",
                    describe_handlers(bypass[:1]),
                )
            )
    if _structlog_replaced(state):
        problems.append(
            Problem(
                "structlog-reconfigured",
                "structlog was reconfigured after safelog.configure()",
                "structlog",
            )
        )
    problems.extend(_hook_problems(reinstall_hooks))
    problems.extend(_sink_problems(state))
    return problems


def _sink_problems(state: _state.State) -> list[Problem]:
    """What sinks report through their optional ``problems()`` (code, name, message)."""
    out: list[Problem] = []
    for sink in state.chain.dispatcher.sinks:
        report = getattr(sink, "problems", None)
        if not callable(report):
            continue
        try:
            out.extend(Problem(code, message, name) for code, name, message in report())
        except Exception:  # noqa: BLE001, S112 -- a sink's report never breaks self_check
            continue
    return out


def _structlog_replaced(state: _state.State) -> bool:
    cfg = structlog.get_config()
    factory = cfg["logger_factory"]
    wrapper = cfg["wrapper_class"]
    return (
        not isinstance(factory, StructlogFactory)
        or factory.chain is not state.chain
        # Another wrapper class would run processors safelog does not control.
        or not (isinstance(wrapper, type) and issubclass(wrapper, SafeBoundLogger))
    )


def _hook_problems(reinstall: bool) -> list[Problem]:
    configured = _hooks.installed()
    out: list[Problem] = []
    for name, where, _current in _hooks.not_in_effect():
        if name not in configured:
            continue
        out.append(
            Problem(
                "hook-replaced",
                f"{where} was replaced after safelog.configure() installed its hook; "
                "the replacement may print exception or warning text",
                where,
            )
        )
        if reinstall:
            _hooks.reinstall(name)
    return out


def stats() -> dict[str, int]:
    """Loss and error counters, metadata only."""
    state = _state.current()
    if state is None:
        return {}
    out = {
        "internal_errors": state.chain.internal_errors,
        "sink_errors": state.chain.dispatcher.errors,
        "recursion_reduced": state.chain.reduced,
        "recursion_lost": lost_at_recursion_limit(),
        # Why values were dropped, by reason (a typed counter in the chain).
        **state.policy_filter.counts.as_stats(),
    }
    # Incoming request ids replaced and trace headers dropped (integrations).
    out.update(_context.counters.as_dict())
    # The stdio guard's records, drops and errors (when it is on).
    out.update(_stdio.stats())
    if state.handler is not None:
        out["stdlib_suppressed"] = state.handler.suppressed
        out["stdlib_errors"] = state.handler.errors
    for stage in state.chain.processors:
        # Present only when metrics, buffering or sampling are on.
        if isinstance(stage, (_metrics.MetricEmbedder, _scope.ScopeRouter)):
            out.update(stage.counters.as_dict())
    for sink in state.chain.dispatcher.sinks:
        sink_stats = getattr(sink, "stats", None)
        if callable(sink_stats):
            out.update(sink_stats())
    return out
