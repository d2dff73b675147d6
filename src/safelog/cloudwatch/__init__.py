"""
Ship safelog's rendered lines to CloudWatch Logs.

- `CloudWatch` (also ``safelog.CloudWatch``): the options, checked when
  built; ``configure(cloudwatch=CloudWatch(...))`` makes its sink, which
  ships through boto3 from a background thread (the recommended path).
- `WatchtowerSink` and `adopt_watchtower_handlers`: for a service that
  already configures ``watchtower.CloudWatchLogHandler``: safelog's chain
  runs first and only sanitized lines reach watchtower.

Inside: ``_limits`` (CloudWatch's limits, pure), ``_transport`` (boto3 calls,
error classification), ``_queue``/``_worker``/``_sink`` (the bounded queue,
the shipper thread, the sink), ``_accounting`` (counters and the records
safelog writes about shipping). boto3, botocore and watchtower are imported
only when used, never by ``import safelog``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._accounting import FAILURE_EVENT, LOSS_EVENT, RECOVERED_EVENT
from ._factory import RETENTION_DAYS, CloudWatch
from ._limits import CUT_MARKER, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_EVENT_BYTES


if TYPE_CHECKING:
    from ._sink import CloudWatchSink
    from ._watchtower import Watchtower, WatchtowerSink, adopt_watchtower_handlers


__all__ = [
    "CUT_MARKER",
    "FAILURE_EVENT",
    "LOSS_EVENT",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "MAX_EVENT_BYTES",
    "RECOVERED_EVENT",
    "RETENTION_DAYS",
    "CloudWatch",
    "CloudWatchSink",
    "Watchtower",
    "WatchtowerSink",
    "adopt_watchtower_handlers",
]

# Loaded on first use: the sink is made by `CloudWatch.create_sink`, and the
# watchtower adapter is for services that use watchtower.
_LAZY = {
    "CloudWatchSink": "._sink",
    "Watchtower": "._watchtower",
    "WatchtowerSink": "._watchtower",
    "adopt_watchtower_handlers": "._watchtower",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'safelog.cloudwatch' has no attribute {name!r}"
        raise AttributeError(msg)
    import importlib

    return getattr(importlib.import_module(module, __name__), name)
