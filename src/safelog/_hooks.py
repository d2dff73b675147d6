"""
The ways an error reaches a log without a log call: uncaught exceptions in
the main thread (``sys.excepthook``) and in threads
(``threading.excepthook``), exceptions Python cannot raise
(``sys.unraisablehook``: ``__del__``, weakref callbacks), asyncio's loop
exception handler, and warnings.

Python's defaults print the message and a traceback with source lines to
stderr; asyncio's prints ``repr(task)`` and the exception text. These hooks
send a record through the chain instead: a constant event plus the error
record (type, frames, fingerprint), never the text. `safelog.configure`
installs them (``hooks=`` chooses which) and `safelog.shutdown` puts back
what was there, unless someone replaced a hook after us.

Every hook looks up the current configuration when it runs, and never
raises: a hook that fails leaves nothing behind, and in particular never
falls back to printing.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import warnings
import weakref

from collections.abc import Callable, Iterable
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from . import _callsite, processors
from ._chain import current_chain
from ._names import (
    MARKER_NAME,
    checked_module_name,
    function_name_of,
    module_name_of,
    qualified_type_name,
)
from .errors import ConfigurationError
from .processors import MARKER_EVENT, StdlibOrigin
from .tracebacks import WarningSite


if TYPE_CHECKING:
    import asyncio


__all__ = [
    "HOOKS",
    "excepthook",
    "install",
    "install_asyncio_handler",
    "installed",
    "not_in_effect",
    "resolve_hooks",
    "showwarning",
    "threading_excepthook",
    "unraisablehook",
]

#: The hooks `safelog.configure` can install, by their ``hooks=`` name.
HOOKS = ("excepthook", "multiprocessing", "threading", "unraisable", "warnings")

_WARNINGS_LOGGER = "py.warnings"
# A name of stdlib's own convention, trusted like a module name.
processors._trusted_logger_names.setdefault(_WARNINGS_LOGGER, _WARNINGS_LOGGER)


def resolve_hooks(hooks: object) -> frozenset[str]:
    """Validate ``configure(hooks=...)``: True, False, or names from `HOOKS`."""
    if hooks is True:
        return frozenset(HOOKS)
    if hooks is False or hooks is None:
        return frozenset()
    if isinstance(hooks, str) or not isinstance(hooks, Iterable):
        msg = f"hooks: must be True, False or an iterable of names from {', '.join(HOOKS)}"
        raise ConfigurationError(msg)
    names = list(hooks)
    if any(type(n) is not str or n not in HOOKS for n in names):
        # The unknown name is not echoed: options are named, values never.
        msg = f"hooks: unknown hook name; choose from {', '.join(HOOKS)}"
        raise ConfigurationError(msg)
    return frozenset(names)


# -- emitting -------------------------------------------------------------------


def _emit(
    frame: FrameType | None,
    logger_name: str,
    levelno: int,
    event: str,
    exc_info: object,
) -> None:
    """
    Run one record through the current chain as if *frame* had logged
    *event*. The event must be a string literal of *frame*'s code or module,
    as for any log call; `EventGuard` checks that again.
    """
    chain = current_chain()
    if levelno < chain.min_level or frame is None:
        return
    if sys.is_finalizing():
        # Modules are leaving sys.modules: parts of the chain that import
        # lazily cannot run. The report keeps the event and the type only.
        chain.dispatcher.emit(
            chain.constant_line(
                logging.getLevelName(levelno).lower(), event, _finalizing_type(exc_info)
            )
        )
        return
    code = frame.f_code
    record = logging.LogRecord(
        logger_name,
        levelno,
        code.co_filename,
        frame.f_lineno,
        event,
        None,
        None,
        func=getattr(code, "co_qualname", code.co_name),
    )
    record.module = module_name_of(frame)
    level = logging.getLevelName(levelno).lower()
    event_dict: dict[str, Any] = {"event": event}
    if exc_info is not None:
        event_dict["exc_info"] = exc_info
    chain.run(StdlibOrigin(record, frame), level, event_dict)


def _finalizing_type(exc_info: object) -> str | None:
    exc_type = exc_info[0] if type(exc_info) is tuple and exc_info else None
    if not isinstance(exc_type, type):
        return None
    try:
        return qualified_type_name(exc_type)
    except Exception:  # noqa: BLE001 -- a lazy import failing at finalization
        return MARKER_NAME


def excepthook(
    exc_type: type[BaseException], exc_value: BaseException, exc_tb: TracebackType | None
) -> None:
    # A crash hook must never raise, and never fall back to printing.
    with contextlib.suppress(Exception):
        exc_info = (exc_type, exc_value, exc_tb)
        _emit(sys._getframe(), __name__, logging.CRITICAL, "uncaught_exception", exc_info)


def threading_excepthook(args: Any) -> None:
    try:
        if args.exc_type is SystemExit:
            # As threading's default: SystemExit ends a thread quietly.
            return
        exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
        _emit(sys._getframe(), __name__, logging.ERROR, "uncaught_thread_exception", exc_info)
    except Exception:  # noqa: BLE001, S110
        pass


def unraisablehook(unraisable: Any) -> None:
    # err_msg and object are never read: object's repr is the data itself.
    try:
        exc_info = (unraisable.exc_type, unraisable.exc_value, unraisable.exc_traceback)
        _emit(sys._getframe(), __name__, logging.ERROR, "unraisable_exception", exc_info)
    except Exception:  # noqa: BLE001, S110
        pass


# -- warnings -------------------------------------------------------------------

_module_by_file: dict[str, str] = {}


def _attributed(filename: str, lineno: object, start: FrameType | None) -> tuple[str, str | None]:
    """
    Module and function a warning is attributed to (by *filename*, the
    ``stacklevel`` frame); never the path itself.
    """
    f = start
    while f is not None:
        if f.f_code.co_filename == filename and f.f_lineno == lineno:
            return module_name_of(f), function_name_of(f)
        f = f.f_back
    hit = _module_by_file.get(filename)
    if hit is None:
        hit = MARKER_NAME
        for name, mod in list(sys.modules.items()):
            if getattr(mod, "__file__", None) == filename and type(name) is str:
                hit = checked_module_name(name)
                break
        if len(_module_by_file) >= 1024:
            _module_by_file.clear()
        _module_by_file[filename] = hit
    return hit, None


def _warn_call_site(frame: FrameType | None) -> FrameType | None:
    # The frames between warnings.warn and this hook are warnings' own.
    f = frame
    while f is not None:
        name = f.f_globals.get("__name__")
        if name not in ("warnings", __name__, "safelog._fallback"):
            return f
        f = f.f_back
    return None


def showwarning(  # noqa: PLR0917 -- warnings.showwarning's signature
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    # file and line (the source text) are never used.
    try:
        site = _warn_call_site(sys._getframe(1))
        if site is None:
            return
        text: object = message
        if issubclass(type(message), BaseException):
            args = BaseException.__dict__["args"].__get__(message)
            text = args[0] if type(args) is tuple and len(args) == 1 else None
        event = MARKER_EVENT
        if type(text) is str and (
            _callsite.is_code_literal(text, site)
            or (type(filename) is str and _callsite.is_code_literal(text, None, filename))
        ):
            event = text
        module, function = (
            _attributed(filename, lineno, site) if type(filename) is str else (MARKER_NAME, None)
        )
        # The arguments come from whoever called showwarning: checked, not trusted.
        cat: object = category
        if not (isinstance(cat, type) and issubclass(cat, Warning)):
            cat = Warning
        where = WarningSite(cat, module, function, lineno if type(lineno) is int else None)
        _emit(site, _WARNINGS_LOGGER, logging.WARNING, event, where)
    except Exception:  # noqa: BLE001, S110
        pass


# -- asyncio --------------------------------------------------------------------

# asyncio's own constant messages, mapped to our literal copy (the emitted
# event is always one of these strings, never the context's).
_ASYNCIO_EXACT = {
    m: m
    for m in (
        "Unhandled error in exception handler",
        "Error on reading from the event loop self pipe",
        "Accept failed on a socket",
        "unhandled exception during asyncio.run() shutdown",
        "socket.accept() out of system resource",
        "Error on transport creation for incoming connection",
        "protocol.pause_writing() failed",
        "protocol.resume_writing() failed",
        "Unhandled exception in client_connected_cb",
        "Task was destroyed but it is pending!",
        "Unknown exception in SIGCHLD handler",
        "Fatal error on transport",
        "Fatal read error on socket transport",
        "Fatal write error on socket transport",
        "Fatal error on SSL transport",
        "Fatal error on pipe transport",
        "Fatal read error on pipe transport",
        "Fatal write error on pipe transport",
    )
}


def _asyncio_event(message: object) -> str:
    if type(message) is str:
        hit = _ASYNCIO_EXACT.get(message)
        if hit is not None:
            return hit
        if message.endswith(" exception was never retrieved"):
            return "exception_never_retrieved"
        if message.startswith("Exception in callback"):
            return "exception_in_callback"
        if message.startswith("an error occurred during closing of asynchronous generator"):
            return "asyncgen_close_failed"
        if message.startswith("Task ") and " has errored out but its parent" in message:
            return "task_errored_after_parent_completed"
    return "asyncio_exception"


def _asyncio_handler(loop: Any, context: Any) -> None:
    # Never reads 'task', 'future', 'handle', 'protocol', 'transport' or the
    # message text: their reprs hold the data.
    try:
        ctx = context if type(context) is dict else {}
        event = _asyncio_event(dict.get(ctx, "message"))
        exc = dict.get(ctx, "exception")
        exc_info = exc if issubclass(type(exc), BaseException) else None
        _emit(sys._getframe(), "asyncio", logging.ERROR, event, exc_info)
    except Exception:  # noqa: BLE001, S110
        pass


_asyncio_loops: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def install_asyncio_handler(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """
    Make safelog *loop*'s exception handler (default: the running loop).

    asyncio's default handler logs ``repr(task)`` and the exception text;
    safelog's emits a constant event and the error record. The previous
    handler comes back at `safelog.shutdown`. Without this, those records
    still reach safelog through the stdlib bridge, with the event replaced
    by ``<non-constant-event>``.
    """
    if loop is None:
        import asyncio

        loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    if previous is _asyncio_handler:
        return
    loop.set_exception_handler(_asyncio_handler)
    _asyncio_loops[loop] = previous


def _restore_asyncio() -> None:
    for loop, previous in list(_asyncio_loops.items()):
        try:
            if not loop.is_closed() and loop.get_exception_handler() is _asyncio_handler:
                loop.set_exception_handler(previous)
        except Exception:  # noqa: BLE001, S112 -- restoring the rest must go on
            continue
    _asyncio_loops.clear()


# -- install / restore ---------------------------------------------------------


def _swap(obj: Any, attr: str, ours: Callable[..., Any]) -> Callable[[], None]:
    previous = getattr(obj, attr)
    setattr(obj, attr, ours)

    def restore() -> None:
        # Someone replaced the hook after us: theirs stays.
        if getattr(obj, attr) is ours:
            setattr(obj, attr, previous)

    return restore


#: The hooks the current configuration installed.
_installed: frozenset[str] = frozenset()


def installed() -> frozenset[str]:
    """The ``hooks=`` names the current configuration installed."""
    return _installed


def _places() -> tuple[tuple[str, str, Any, str, object], ...]:
    """(hooks= name, where it lives, holder, attribute, safelog's hook) for each hook."""
    return (
        ("excepthook", "sys.excepthook", sys, "excepthook", excepthook),
        ("threading", "threading.excepthook", threading, "excepthook", threading_excepthook),
        ("unraisable", "sys.unraisablehook", sys, "unraisablehook", unraisablehook),
        ("warnings", "warnings.showwarning", warnings, "showwarning", showwarning),
    )


def not_in_effect() -> list[tuple[str, str, object]]:
    """
    ``(hooks= name, where it lives, what is there now)`` for each of
    safelog's hooks that is not the one in effect right now.
    """
    out: list[tuple[str, str, object]] = []
    for name, where, holder, attr, ours in _places():
        current = getattr(holder, attr, None)
        if current is not ours:
            out.append((name, where, current))
    return out


def reinstall(name: str) -> None:
    """Put safelog's hook *name* (a ``hooks=`` name) back in place (`self_check`)."""
    for hook_name, _where, holder, attr, ours in _places():
        if hook_name == name and getattr(holder, attr, None) is not ours:
            setattr(holder, attr, ours)


def install(names: frozenset[str]) -> Callable[[], None]:
    """Install the hooks in *names*; return the function that restores them."""
    global _installed  # noqa: PLW0603 -- the one record of what is installed
    _installed = names
    restores: list[Callable[[], None]] = []
    if "excepthook" in names:
        restores.append(_swap(sys, "excepthook", excepthook))
    if "threading" in names:
        restores.append(_swap(threading, "excepthook", threading_excepthook))
    if "unraisable" in names:
        restores.append(_swap(sys, "unraisablehook", unraisablehook))
    if "warnings" in names:
        restores.append(_swap(warnings, "showwarning", showwarning))

    def restore_all() -> None:
        global _installed  # noqa: PLW0603
        if _installed is names:  # not a later configuration's
            _installed = frozenset()
        _restore_asyncio()
        for fn in reversed(restores):
            fn()

    return restore_all
