"""
Keep an existing ``watchtower.CloudWatchLogHandler``, behind safelog's chain.

A service that already configures watchtower (in code, ``dictConfig`` or
Django's ``LOGGING``) can keep its handler: `WatchtowerSink` hands it the
finished, sanitized lines safelog's chain renders, never the service's own
records. `adopt_watchtower_handlers` finds such handlers on loggers, takes
them off (so raw records no longer reach them) and wraps each in a
`WatchtowerSink`; `Watchtower` is the factory form for
``configure(cloudwatch=Watchtower(handler))``.

watchtower keeps its own behaviour on this path: its queue, batching,
retries and what it does when CloudWatch is down or throttling (see
docs/operations.md for measured figures). safelog's default
`safelog.CloudWatch` sink is the recommended path.
"""

from __future__ import annotations

import logging
import sys

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from safelog.policy import ConfigurationError


__all__ = ["Watchtower", "WatchtowerSink", "adopt_watchtower_handlers"]

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
#: The logger name on the records watchtower receives (a constant: the
#: service's logger names stay in the sanitized line, as safelog decided).
RECORD_NAME = "safelog"


def _is_watchtower_handler(handler: object) -> bool:
    watchtower = sys.modules.get("watchtower")
    cls = getattr(watchtower, "CloudWatchLogHandler", None) if watchtower else None
    return cls is not None and isinstance(handler, cls)


class WatchtowerSink:
    """
    A safelog sink writing each sanitized line to a watchtower handler, as
    the message of a fresh `logging.LogRecord` (level taken from the line).
    The handler must not also be attached to a logger: there it would
    receive raw records (`adopt_watchtower_handlers` detaches it).
    """

    def __init__(self, handler: logging.Handler) -> None:
        if not _is_watchtower_handler(handler):
            msg = "handler: WatchtowerSink needs a watchtower.CloudWatchLogHandler"
            raise ConfigurationError(msg)
        self.handler = handler
        self._written = 0
        self._errors = 0

    def write(self, line: str) -> None:
        """Hand *line* to watchtower (it queues; its thread sends). Never raises."""
        try:
            level = logging.INFO
            record_level = orjson.loads(line).get("level")
            if isinstance(record_level, str):
                level = _LEVELS.get(record_level, logging.INFO)
        except Exception:  # noqa: BLE001 -- a line safelog did not render: keep INFO
            level = logging.INFO
        try:
            record = logging.LogRecord(RECORD_NAME, level, "", 0, line, None, None)
            # handle(), not emit(): the handler's filters and lock apply; its
            # level does not (safelog's chain already filtered by level).
            self.handler.handle(record)
            self._written += 1
        except Exception:  # noqa: BLE001 -- never raise into the caller
            self._errors += 1

    def flush(self, timeout: float | None = None) -> None:
        """watchtower's flush (it has no deadline of its own)."""
        try:
            self.handler.flush()
        except Exception:  # noqa: BLE001
            self._errors += 1

    def close(self, timeout: float | None = None) -> None:
        """watchtower's close: flushes its queues and stops its threads."""
        try:
            self.handler.close()
        except Exception:  # noqa: BLE001
            self._errors += 1

    def stats(self) -> dict[str, int]:
        """Lines handed to watchtower; what it then delivered is not known here."""
        return {"watchtower_written": self._written, "watchtower_errors": self._errors}


class Watchtower:
    """``configure(cloudwatch=Watchtower(handler))``: ship through *handler*."""

    def __init__(self, handler: logging.Handler) -> None:
        self._sink = WatchtowerSink(handler)

    def create_sink(
        self, metadata: Mapping[str, Any], *, report: Callable[[str], None] | None = None
    ) -> WatchtowerSink:
        return self._sink


def adopt_watchtower_handlers(
    loggers: list[logging.Logger] | None = None,
) -> list[WatchtowerSink]:
    """
    Take every watchtower handler off *loggers* (default: the root logger
    and every logger created so far) and return one `WatchtowerSink` per
    handler, for ``configure(sinks=...)``. Without watchtower imported there
    can be no such handler, and nothing is imported.
    """
    if "watchtower" not in sys.modules:
        return []
    if loggers is None:
        found = [logging.getLogger()]
        found += [
            lg
            for lg in logging.Logger.manager.loggerDict.values()
            if isinstance(lg, logging.Logger)
        ]
    else:
        found = list(loggers)
    sinks: list[WatchtowerSink] = []
    seen: set[int] = set()
    for logger in found:
        for handler in list(logger.handlers):
            if _is_watchtower_handler(handler):
                logger.removeHandler(handler)
                if id(handler) not in seen:
                    seen.add(id(handler))
                    sinks.append(WatchtowerSink(handler))
    return sinks
