"""
The one owner of the current configuration.

Every other module reads the configuration through `current`,
`current_chain` or `snapshot`, and only `safelog.configure`/`shutdown`
change it, through `changing`, `install` and `retire`. Nothing else keeps a
copy: a module that needs the configuration asks for it when it runs.

A leaf: it imports nothing from safelog at runtime (the types below are for
the type checker only), so every module can use it without a cycle.

Reads take no lock (one attribute read is atomic), so a log call, a signal
handler or a forked child's first record never waits for a configure()
running in another thread. Changes are made under one re-entrant lock,
re-created in a forked child (a fork taken while another thread held it
would otherwise leave the child's lock held for ever).
"""

from __future__ import annotations

import os
import threading
import weakref

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any


if TYPE_CHECKING:
    import logging

    from ._chain import Chain, SafeBoundLogger
    from .policy import FieldPolicy
    from .processors import PolicyFilter
    from .stdlib import SafelogHandler


__all__ = [
    "SavedLogging",
    "State",
    "changing",
    "current",
    "current_chain",
    "current_or_fallback",
    "fallback",
    "generation",
    "install",
    "intercepting",
    "interceptor",
    "invalidate_proxies",
    "next_generation",
    "register_proxy",
    "retire",
]


@dataclass
class SavedLogging:
    """What `configure` changed in stdlib logging, to put back at `shutdown`."""

    root_handlers: list[logging.Handler]
    root_level: int
    last_resort: logging.Handler | None
    detached: list[tuple[logging.Logger, list[logging.Handler], bool]] = field(default_factory=list)


@dataclass
class State:
    """One configuration: its chain, its policy and what it changed."""

    chain: Chain
    policy_filter: PolicyFilter
    wrapper_class: type[SafeBoundLogger]
    policy: FieldPolicy
    level: int
    generation: int
    handler: SafelogHandler | None = None
    saved: SavedLogging | None = None
    saved_structlog: dict[str, Any] | None = None
    on_shutdown: list[Callable[[], None]] = field(default_factory=list)
    shutdown_timeout: float = 5.0


_lock = threading.RLock()
_current: State | None = None
_fallback: State | None = None
_generation = 0


@contextmanager
def changing() -> Iterator[None]:
    """Hold the configuration lock (re-entrant) while checking and changing it."""
    with _lock:
        yield


def current() -> State | None:
    """The configured state, or None before `configure` / after `shutdown`."""
    return _current


def current_or_fallback(build: Callable[[], State]) -> State:
    """
    The configured state; before `configure`, the safe default, made once by
    *build* (no fields, stderr) and kept for the life of the process.
    """
    state = _current
    if state is not None:
        return state
    fallback = _fallback
    if fallback is not None:
        return fallback
    return _make_fallback(build)


def _make_fallback(build: Callable[[], State]) -> State:
    global _fallback  # noqa: PLW0603 -- this module owns it
    with _lock:
        if _fallback is None:
            _fallback = build()
        return _fallback


def current_chain(build: Callable[[], State]) -> Chain:
    """The chain a record goes through now (the fallback's before `configure`)."""
    return current_or_fallback(build).chain


def fallback() -> State | None:
    """The safe default, if it was made (its sinks need fork care too)."""
    return _fallback


def generation() -> int:
    """The generation of the configured state; 0 when none is."""
    state = _current
    return 0 if state is None else state.generation


def next_generation() -> int:
    """A new generation number, for the state `configure` is building."""
    global _generation  # noqa: PLW0603 -- this module owns it
    with _lock:
        _generation += 1
        return _generation


def install(state: State) -> None:
    """Make *state* current (`configure`, under `changing`)."""
    global _current  # noqa: PLW0603 -- this module owns it
    with _lock:
        if _current is not None:
            msg = "a configuration is already installed"
            raise RuntimeError(msg)
        _current = state
    invalidate_proxies()


def retire() -> State | None:
    """Make no state current and return the one that was (`shutdown`)."""
    global _current
    with _lock:
        state, _current = _current, None
    invalidate_proxies()
    return state


# -- inventory: what a configure() call would do, without doing it ----------

_interceptor: Callable[[dict[str, Any]], None] | None = None


def interceptor() -> Callable[[dict[str, Any]], None] | None:
    """The function `configure` hands its arguments to instead of running (inventory)."""
    return _interceptor


@contextmanager
def intercepting(fn: Callable[[dict[str, Any]], None]) -> Iterator[None]:
    """
    While active, `safelog.configure` calls *fn* with its keyword arguments
    first; *fn* raises to stop it (``safelog inventory --module``).
    """
    global _interceptor  # noqa: PLW0603 -- this module owns it
    with _lock:
        previous, _interceptor = _interceptor, fn
    try:
        yield
    finally:
        with _lock:
            _interceptor = previous


# -- the loggers `get_logger` hands out ---------------------------------------
#
# Each caches its level methods on itself; a change of configuration clears
# those caches. Plain weak references in a list, pruned as they die, rather
# than a WeakSet: iterating a WeakSet while other threads add to it raises
# "Set changed size during iteration", and its removal callbacks run at
# arbitrary points (garbage collection) in arbitrary threads.

_proxies: list[weakref.ref[Any]] = []
_proxies_lock = threading.Lock()
_prune_at = 64


def register_proxy(proxy: Any) -> None:
    """Remember *proxy* (it has ``refresh()``): each change of configuration refreshes it."""
    global _prune_at  # noqa: PLW0603
    ref = weakref.ref(proxy)
    with _proxies_lock:
        _proxies.append(ref)
        if len(_proxies) >= _prune_at:
            _proxies[:] = [r for r in _proxies if r() is not None]
            _prune_at = max(64, 2 * len(_proxies))


def invalidate_proxies() -> None:
    """Have every live proxy re-cache its methods for the configuration now current."""
    with _proxies_lock:
        refs = list(_proxies)
    for ref in refs:
        proxy = ref()
        if proxy is not None:
            proxy.refresh()


def _after_fork_in_child() -> None:
    # The parent's other threads do not exist here: a lock one of them held
    # at the fork would never be released.
    global _lock, _proxies_lock  # noqa: PLW0603
    _lock = threading.RLock()
    _proxies_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
