"""
`get_logger`: the lazy structlog logger every module makes at import time.

It resolves to a bound logger of whatever configuration is current, so a
module-level logger made before `safelog.configure` follows it, and a later
`shutdown`/`configure` too. Its level methods are cached on the instance
(`_state` refreshes them at each change), so a call costs no proxy lookup.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

from . import _state
from ._chain import SafeBoundLogger, SinkLogger, build_fallback


__all__ = ["BoundLogger", "get_logger"]


class BoundLogger(Protocol):
    """
    What `get_logger` returns: a structlog-style bound logger.

    Level methods take a constant event and declared fields as keywords;
    they never raise and return None. ``bind``/``new``/``unbind``/
    ``try_unbind`` return a new logger. The ``a``-prefixed methods are the
    async variants.
    """

    def bind(self, **values: Any) -> BoundLogger: ...
    def new(self, **values: Any) -> BoundLogger: ...
    def unbind(self, *keys: str) -> BoundLogger: ...
    def try_unbind(self, *keys: str) -> BoundLogger: ...
    def debug(self, event: str, /, *args: Any, **kw: Any) -> None: ...
    def info(self, event: str, /, *args: Any, **kw: Any) -> None: ...
    def msg(self, event: str, /, *args: Any, **kw: Any) -> None: ...
    def warning(self, event: str, /, *args: Any, **kw: Any) -> None: ...
    def warn(self, event: str, /, *args: Any, **kw: Any) -> None: ...
    def error(self, event: str, /, *args: Any, **kw: Any) -> None: ...
    def exception(self, event: str, /, *args: Any, **kw: Any) -> None: ...
    def critical(self, event: str, /, *args: Any, **kw: Any) -> None: ...
    def fatal(self, event: str, /, *args: Any, **kw: Any) -> None: ...
    def log(self, level: int | str, event: str, /, *args: Any, **kw: Any) -> None: ...
    async def adebug(self, event: str, /, *args: Any, **kw: Any) -> None: ...
    async def ainfo(self, event: str, /, *args: Any, **kw: Any) -> None: ...
    async def awarning(self, event: str, /, *args: Any, **kw: Any) -> None: ...
    async def aerror(self, event: str, /, *args: Any, **kw: Any) -> None: ...
    async def aexception(self, event: str, /, *args: Any, **kw: Any) -> None: ...
    async def acritical(self, event: str, /, *args: Any, **kw: Any) -> None: ...
    async def alog(self, level: int | str, event: str, /, *args: Any, **kw: Any) -> None: ...
    def metric(self, event: str, /, *args: Any, **kw: Any) -> None: ...
    async def ametric(self, event: str, /, *args: Any, **kw: Any) -> None: ...


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
        "metric",
    }
)


def _current_or_fallback() -> _state.State:
    return _state.current_or_fallback(build_fallback)


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
        # Resolved on first use (bind() per request stays cheap); `_state`
        # refreshes every live one at each configure/shutdown.
        _state.register_proxy(self)

    def refresh(self) -> None:
        """
        Cache the level methods of the current configuration on the instance
        (`_state` calls this at each configure/shutdown). A cached method is
        a plain instance attribute: calling it takes no Python frame beyond
        the method's own, which matters at the recursion limit.
        """
        self.__dict__.clear()
        try:
            bound = self._resolve()
            generation = self._generation
            for name in _CACHED_METHODS:
                self.__dict__[name] = getattr(bound, name)
            if generation != _state.generation():
                self.__dict__.clear()
        except Exception:  # noqa: BLE001 -- __getattr__ resolves on first use instead
            self.__dict__.clear()

    def _resolve(self) -> SafeBoundLogger:
        state = _current_or_fallback()
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
        generation = self._generation
        if name in _CACHED_METHODS and generation == _state.generation():
            self.__dict__[name] = attr
            # A configure()/shutdown() in another thread between the check
            # and the store cleared the caches before this one was made:
            # drop it rather than keep a retired configuration's method.
            if generation != _state.generation():
                self.__dict__.pop(name, None)
        return attr

    def __repr__(self) -> str:
        return "<safelog logger>"


def get_logger(name: str | None = None, **initial_values: Any) -> BoundLogger:
    """
    Return a structlog logger whose records go through safelog's chain.

    *name* is usually ``__name__``; *initial_values* are bound context and go
    through the field policy like any other value.
    """
    logger = _LazyLogger(name, dict(initial_values))
    # Usually once per module: resolve now, so that even its first call
    # needs no __getattr__ frame (the recursion limit). bind() stays lazy.
    logger.refresh()
    return cast("BoundLogger", logger)
