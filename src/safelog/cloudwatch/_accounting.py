"""
What the CloudWatch sink counts, and the metadata records it writes about
itself: a typed object (a typo is an AttributeError, not a new counter) and
pure functions that render its loss and failure records.
"""

from __future__ import annotations

import dataclasses
import os

from collections.abc import Mapping
from typing import Any

from safelog.processors import add_timestamp, render_json_line

from ._transport import Reason


__all__ = ["FAILURE_EVENT", "LOSS_EVENT", "RECOVERED_EVENT", "Counters"]

#: The record reporting losses, and its logger name.
LOSS_EVENT = "safelog.cloudwatch.loss"
#: The record saying shipping fails (once per failure streak and reason).
FAILURE_EVENT = "safelog.cloudwatch.failing"
#: The record saying shipping works again after a reported failure.
RECOVERED_EVENT = "safelog.cloudwatch.recovered"
LOGGER = "safelog.cloudwatch"


@dataclasses.dataclass(slots=True)
class Counters:
    """The sink's counters; every line accepted ends delivered or in one ``dropped_*``."""

    accepted: int = 0
    done: int = 0
    delivered: int = 0
    dropped_overflow: int = 0
    dropped_rejected: int = 0
    dropped_invalid: int = 0
    dropped_exit: int = 0
    dropped_closed: int = 0
    cut: int = 0
    retries: int = 0
    put_calls: int = 0
    setup_errors: int = 0
    errors: int = 0
    loss_reports: int = 0
    failure_reports: int = 0
    #: Events delivered after a try whose answer was lost (read timeout,
    #: connection closed mid-response): CloudWatch may have stored that try
    #: too, so up to this many events may be stored twice.
    possible_duplicates: int = 0
    failed: dict[Reason, int] = dataclasses.field(default_factory=lambda: dict.fromkeys(Reason, 0))

    def dropped(self) -> int:
        return (
            self.dropped_overflow
            + self.dropped_rejected
            + self.dropped_invalid
            + self.dropped_exit
            + self.dropped_closed
        )

    def as_stats(self) -> dict[str, int]:
        """``cloudwatch_<name>`` for every counter (``done`` is internal)."""
        out = {
            f"cloudwatch_{f.name}": getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("done", "failed")
        }
        out.update((f"cloudwatch_failed_{r.value}", n) for r, n in self.failed.items())
        out["cloudwatch_dropped"] = self.dropped()
        return out


def _base(level: str, event: str, meta: Mapping[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {"timestamp": None}
    add_timestamp(None, level, record)
    record.update(level=level, logger=LOGGER, event=event, **meta, pid=os.getpid())
    return record


def loss_record(meta: Mapping[str, Any], counters: Counters, new: int) -> str:
    """The loss report: *new* losses since the last one, and every counter."""
    record = _base("warning", LOSS_EVENT, meta)
    record["cloudwatch_dropped_new"] = new
    record.update(counters.as_stats())
    return render_json_line(record)


def failure_record(
    meta: Mapping[str, Any], reason: Reason, error: str, code: str, operation: str
) -> str:
    """Shipping fails: the reason, the SDK error class and code, the operation."""
    record = _base("error", FAILURE_EVENT, meta)
    record.update(
        cloudwatch_reason=reason.value,
        cloudwatch_error=error,
        cloudwatch_operation=operation,
    )
    if code:
        record["cloudwatch_error_code"] = code
    return render_json_line(record)


def recovered_record(meta: Mapping[str, Any], operation: str) -> str:
    """Shipping works again after a reported failure."""
    record = _base("info", RECOVERED_EVENT, meta)
    record["cloudwatch_operation"] = operation
    return render_json_line(record)
