"""
The bridge that sends every stdlib `logging` record through safelog's chain.

`safelog.configure` makes `SafelogHandler` the root logger's only handler
(and `logging.lastResort`), so the service's own loggers and every
third-party library's (botocore, urllib3, asyncio, py.warnings, ...) reach
the same chain as structlog calls. From a record only this may pass:

- the logger name, if it names a loaded module or is a literal of the code
  that logged;
- the level;
- the message *template*, if it is a string literal of the calling code.

``%``-args and non-string ``msg`` objects never pass; they are counted in
``dropped``. ``extra=`` fields go through the field policy like keyword
arguments of a structlog call: declared and valid, kept; otherwise counted.
So turning the root logger to DEBUG during an incident shows botocore's
templates, never the request bodies and tokens its arguments carry.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import threading

from collections.abc import Iterable, Mapping
from types import FrameType
from typing import TYPE_CHECKING, Any

from . import _callsite
from ._chain import HEADROOM, current_chain
from ._sinks import internal_threads
from .policy import RESERVED_KEYS
from .processors import StdlibOrigin


if TYPE_CHECKING:
    from ._chain import Chain


__all__ = [
    "SafelogHandler",
    "bypassing_handlers",
    "describe_handlers",
    "handler_entries",
    "record_to_event_dict",
]

# Attributes every LogRecord has; anything else on a record came from
# ``extra=`` (or a filter) and is untrusted.
_RECORD_ATTRS = frozenset(
    vars(logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None)).keys()
) | {"message", "asctime", "taskName"}


def record_to_event_dict(record: logging.LogRecord) -> dict[str, Any]:
    """
    The incoming event dict for *record*: the raw message (checked later by
    `EventGuard`), the exception, and the args and extras as a count only.
    """
    event_dict: dict[str, Any] = {"event": record.msg}
    args = record.args
    dropped: tuple[Any, ...] = ()
    if args:
        if type(args) is tuple:
            dropped = args
        elif isinstance(args, Mapping):
            dropped = tuple(args)
        else:
            dropped = (args,)
    for key, value in record.__dict__.items():
        if key in _RECORD_ATTRS:
            continue
        if type(key) is str and key not in RESERVED_KEYS:
            # An ``extra=`` field: the policy decides, as for a keyword
            # argument (declared and valid: kept; undeclared: counted).
            event_dict[key] = value
        else:
            # A reserved name must not pose as the event or an exception.
            dropped = (*dropped, key)
    if dropped:
        # Counted as dropped by PolicyFilter, never emitted.
        event_dict["positional_args"] = dropped
    if record.exc_info:
        event_dict["exc_info"] = record.exc_info
    if record.stack_info:
        event_dict["stack_info"] = True
    return event_dict


class SafelogHandler(logging.Handler):
    """
    A `logging.Handler` that runs each record through the chain.

    It never formats the record (``record.getMessage()`` would interpolate
    the args) and never mutates it: other code may hold the same record.
    """

    def __init__(self, chain: Chain | None, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        #: None: the chain of whatever configuration is current at each record
        #: (the safe default before `safelog.configure`).
        self.chain = chain
        #: Records caused by safelog's own shipper threads, not shipped.
        self.suppressed = 0
        #: Records whose handling failed (each was still emitted with a marker).
        self.errors = 0

    def emit(self, record: logging.LogRecord) -> None:
        if threading.get_ident() in internal_threads:
            self.suppressed += 1
            return
        # The common path inline (no extra frame per record); `_run` is the
        # same steps, for the retry at the recursion limit.
        chain = self.chain if self.chain is not None else current_chain()
        try:
            frame = _callsite.find_caller(sys._getframe(1))
            event_dict = record_to_event_dict(record)
            level = record.levelname.lower() if type(record.levelname) is str else "info"
            chain.run(StdlibOrigin(record, frame), level, event_dict)
        except RecursionError:
            # Logged near the recursion limit: raise it inline (a builtin
            # takes no frame) for this record, as the bound logger does.
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(limit + HEADROOM)
            try:
                self._run(record, sys._getframe(1))
            except RecursionError:
                self.errors += 1
            finally:
                sys.setrecursionlimit(limit)
        except Exception:  # noqa: BLE001 -- fail open on delivery, never raise
            self.errors += 1
            with contextlib.suppress(Exception):
                chain.dispatcher.emit(chain.fallback_line("error", None))

    def _run(self, record: logging.LogRecord, caller: FrameType) -> None:
        chain = self.chain if self.chain is not None else current_chain()
        try:
            frame = _callsite.find_caller(caller)
            event_dict = record_to_event_dict(record)
            level = record.levelname.lower() if type(record.levelname) is str else "info"
            chain.run(StdlibOrigin(record, frame), level, event_dict)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 -- fail open on delivery, never raise
            self.errors += 1
            with contextlib.suppress(Exception):
                chain.dispatcher.emit(chain.fallback_line("error", None))

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 -- stdlib's name
        # logging's default prints the record's message and args to stderr.
        self.errors += 1


def bypassing_handlers() -> list[tuple[logging.Logger, logging.Handler]]:
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
        if not isinstance(h, (SafelogHandler, logging.NullHandler))
    )
    return found


#: How `describe_handlers` shows a logger whose name it cannot show.
UNNAMED_LOGGER = "<logger>"
#: What to do about an unnamed logger, appended once where one is shown.
UNNAMED_LOGGER_HINT = (
    f"{UNNAMED_LOGGER} is a logger whose name is not shown (not a module name "
    "nor a literal of the handler's module: it could be data); list the loggers "
    "that have handlers with: [n for n, lg in logging.root.manager.loggerDict.items() "
    "if getattr(lg, 'handlers', None)]"
)
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_MAX_MODULES_SEARCHED = 400


def _literal_of_its_package(name: str) -> bool:
    """
    A literal in the source of a loaded module of the package the name
    starts with (``"uvicorn.access"`` is written in uvicorn's config module,
    though a stdlib ``StreamHandler`` is attached to it).
    """
    if _DOTTED.match(name) is None:
        return False
    top = name.partition(".")[0]
    candidates = [m for m in list(sys.modules) if m == top or m.startswith(top + ".")]
    return any(_callsite.is_module_literal(name, m) for m in candidates[:_MAX_MODULES_SEARCHED])


def describe_handlers(pairs: Iterable[tuple[logging.Logger, logging.Handler]]) -> str:
    """``module.Class on logger`` for each pair: names of code only."""
    text = ", ".join(handler_entries(pairs))
    if f" on {UNNAMED_LOGGER}" in text:
        text += f" ({UNNAMED_LOGGER_HINT})"
    return text


def handler_entries(pairs: Iterable[tuple[logging.Logger, logging.Handler]]) -> list[str]:
    """Sorted ``module.Class on logger`` entries, names of code only (no hint)."""
    # Logger names can be built at runtime. A name is shown if it is a loaded
    # module's, or a string literal of the module that defines the handler's
    # class (a library attaching its handler to its own named logger), or of
    # a loaded module of the package the name starts with.
    parts = []
    for lg, h in pairs:
        module = type(h).__module__
        name = lg.name
        shown = (
            type(name) is str
            and len(name) <= 200  # longer is not a logger name anyone wrote
            and (
                name in sys.modules
                or name == "root"
                or _callsite.is_module_literal(name, module)
                or _callsite.is_module_literal(name, "__main__")
                or _literal_of_its_package(name)
            )
        )
        parts.append(f"{module}.{type(h).__qualname__} on {name if shown else UNNAMED_LOGGER}")
    return sorted(set(parts))
