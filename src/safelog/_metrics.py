"""
Records that are also CloudWatch metrics: the Embedded Metric Format (EMF).

A field declared with ``metric=`` (an `Int`, `Float` or `Duration`) is a
metric; one declared with ``dimension=True`` (an `Enum`, `HttpMethod`,
`HttpStatus`, `Route` or `Bool`) is a dimension. A record that carries a
metric field gets an ``_aws`` member naming them::

    {"timestamp": "...", "event": "export_finished", "service": "exporter",
     "duration_ms": 812.0, "status": "ok",
     "_aws": {"Timestamp": 1764514638123,
              "CloudWatchMetrics": [{"Namespace": "Exporter",
                                     "Dimensions": [["service", "status"]],
                                     "Metrics": [{"Name": "duration_ms",
                                                  "Unit": "Milliseconds"}]}]}}

and CloudWatch Logs extracts the metrics from the log group with no other
API call. `MetricEmbedder` runs after `PolicyFilter`, on the fresh record it
built: only declared fields whose values passed their kind are there, so only
those can become metric values or dimension values. Everything the ``_aws``
member names comes from the policy (field names, units) or from configuration
(namespace, service, environment), never from a call.
"""

from __future__ import annotations

import calendar
import re
import time

from collections.abc import Mapping
from typing import Any

from .errors import ConfigurationError
from .policy import Bool, Enum, FieldPolicy, HttpStatus


__all__ = [
    "MAX_DIMENSIONS",
    "MAX_METRICS",
    "MAX_VALUES",
    "MetricCounters",
    "MetricEmbedder",
    "check_namespace",
    "is_dimension_text",
]

#: EMF limits (CloudWatch's specification): metric definitions per
#: directive, dimension names per dimension set, values per metric.
MAX_METRICS = 100
MAX_DIMENSIONS = 30
#: Each record carries one value per metric field (kinds are scalars), so a
#: record never reaches this limit; it is here, with the others, for the tests.
MAX_VALUES = 100

# CloudWatch namespaces: ASCII letters, digits and ". - _ / # : space", at
# least one non-blank character, at most 255, never "AWS/" (reserved).
_NAMESPACE = re.compile(r"[A-Za-z0-9.\-_/#: ]{1,255}\Z")


def check_namespace(value: object, option: str) -> str:
    """Return *value* if it is a CloudWatch namespace; else a ConfigurationError naming *option*."""
    if (
        type(value) is not str
        or not _NAMESPACE.match(value)
        or not value.strip()
        or value.startswith("AWS/")
    ):
        msg = (
            f"{option}: must be a CloudWatch namespace: 1 to 255 characters from "
            "[A-Za-z0-9.-_/#: ], not starting with 'AWS/'"
        )
        raise ConfigurationError(msg)
    return value


class MetricCounters:
    """What the embedder had to leave out to respect EMF's limits (metadata only)."""

    __slots__ = ("dimensions_dropped", "metric_records", "metrics_dropped")

    def __init__(self) -> None:
        #: Records emitted with an ``_aws`` member.
        self.metric_records = 0
        #: Metric values left out of ``_aws`` (past `MAX_METRICS` in one record);
        #: the values stay in the record as ordinary fields.
        self.metrics_dropped = 0
        #: Dimension names left out of a dimension set (past `MAX_DIMENSIONS`).
        self.dimensions_dropped = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "metric_records": self.metric_records,
            "metric_values_dropped": self.metrics_dropped,
            "metric_dimensions_dropped": self.dimensions_dropped,
        }


def is_dimension_text(kind: object, text: object) -> bool:
    """
    Whether *text* is what `MetricEmbedder` writes for a valid value of the
    dimension *kind* (``"200"``, ``"true"``, an Enum value as a string): for
    reading stored EMF records back (``safelog audit``).
    """
    if type(text) is not str:
        return False
    if type(kind) is HttpStatus:
        return text.isascii() and text.isdigit() and kind.clean(int(text)) == int(text)
    check = _dimension_check(kind)
    return check is not None and text in check.values()


def _dimension_check(kind: object) -> Mapping[object, str] | None:
    """
    Valid value -> its dimension string, for a kind with a closed set of
    values; None for `HttpStatus` (an int range, checked by type and range).
    """
    if type(kind) is Bool:
        return {True: "true", False: "false"}
    if isinstance(kind, Enum):
        # Keyed by (type, value): 1 and True and "1" stay distinct.
        return {(type(v), v): str(v) for v in kind.values}
    return None


class MetricEmbedder:
    """
    Add the EMF ``_aws`` member to every record that carries a metric field.

    Dimension values in such a record are rendered as strings (EMF requires
    it: ``"status": "200"``, ``"cached": "true"``); metric values stay
    numbers. A metric field whose value failed its kind (a marker) is not a
    metric in that record; a dimension field that is absent or failed its kind
    is left out of the dimension set. Never raises for a record: a problem
    leaves the record as `PolicyFilter` built it.
    """

    __slots__ = (
        "_defaults",
        "_dimension_checks",
        "_dimensions",
        "_metric_defs",
        "_metric_names",
        "_namespace",
        "counters",
    )

    def __init__(
        self,
        policy: FieldPolicy,
        namespace: str,
        default_dimensions: Mapping[str, str],
    ) -> None:
        self._namespace = namespace
        # Frozen at construction, like the policy itself. The definitions are
        # shared by every record: orjson only reads them.
        self._metric_defs: tuple[tuple[str, dict[str, str]], ...] = tuple(
            (name, {"Name": name, "Unit": unit}) for name, unit in policy.metrics()
        )
        self._metric_names = frozenset(name for name, _ in self._metric_defs)
        self._dimensions = policy.dimensions()
        self._dimension_checks: dict[str, Mapping[object, str] | None] = {
            name: _dimension_check(policy.kinds[name]) for name in self._dimensions
        }
        for name in self._dimensions:
            if type(policy.kinds[name]) is HttpStatus:
                self._dimension_checks[name] = None
        # service and environment: configuration metadata, already checked
        # for shape by configure().
        self._defaults = tuple(default_dimensions)
        # Counters are plain ints, no lock: a log call from a signal handler
        # can land while the main thread is in this stage, and a lock here
        # would deadlock it (a lost increment under a race costs a count).
        self.counters = MetricCounters()

    @property
    def metric_names(self) -> frozenset[str]:
        return self._metric_names

    def __call__(self, logger: Any, method_name: str, record: dict[str, Any]) -> dict[str, Any]:
        if self._metric_names.isdisjoint(record):
            return record
        metrics: list[dict[str, str]] = []
        for name, definition in self._metric_defs:
            value = record.get(name)
            t = type(value)
            # Kinds emit finite floats and int64 ints, or a string marker.
            if t is float or t is int:
                metrics.append(definition)
        if not metrics:
            return record
        dropped_metrics = 0
        if len(metrics) > MAX_METRICS:
            dropped_metrics = len(metrics) - MAX_METRICS
            del metrics[MAX_METRICS:]
        dimensions = [d for d in self._defaults if type(record.get(d)) is str]
        for name in self._dimensions:
            if name not in record:
                continue
            text = self._dimension_text(name, record[name])
            if text is None:
                continue
            record[name] = text
            dimensions.append(name)
        dropped_dimensions = 0
        if len(dimensions) > MAX_DIMENSIONS:
            dropped_dimensions = len(dimensions) - MAX_DIMENSIONS
            del dimensions[MAX_DIMENSIONS:]
        record["_aws"] = {
            "Timestamp": _epoch_ms(record.get("timestamp")),
            "CloudWatchMetrics": [
                {"Namespace": self._namespace, "Dimensions": [dimensions], "Metrics": metrics}
            ],
        }
        counters = self.counters
        counters.metric_records += 1
        counters.metrics_dropped += dropped_metrics
        counters.dimensions_dropped += dropped_dimensions
        return record

    def _dimension_text(self, name: str, value: object) -> str | None:
        check = self._dimension_checks[name]
        if check is None:  # HttpStatus: an int the kind checked for range
            return str(value) if type(value) is int else None
        if type(value) is bool:
            return check.get(value)
        return check.get((type(value), value))


_cached: tuple[str, int] = ("", 0)


def _epoch_ms(stamp: object) -> int:
    """
    The record's own ``timestamp`` (``YYYY-MM-DDTHH:MM:SS.mmmZ``) in epoch
    milliseconds, so ``_aws.Timestamp`` and the record agree; the clock if
    the record has none.
    """
    global _cached  # noqa: PLW0603
    if type(stamp) is not str or len(stamp) != 24:
        return time.time_ns() // 1_000_000
    prefix, cached = stamp[:19], _cached
    try:
        if cached[0] == prefix:
            seconds = cached[1]
        else:
            # Not time.strptime: it takes a module lock that a signal handler
            # logging a metric on the same thread would wait on for ever.
            fields = (prefix[0:4], prefix[5:7], prefix[8:10], prefix[11:13], prefix[14:16])
            seconds = calendar.timegm((*map(int, fields), int(prefix[17:19]), 0, 0, 0))
            _cached = (prefix, seconds)
        return seconds * 1000 + int(stamp[20:23])
    except ValueError:
        return time.time_ns() // 1_000_000
