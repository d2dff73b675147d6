"""
The audit's record checker: one stored message in, the codes of the rules
it breaks out.

It applies the rules and judges of `safelog.audit._rules` (declared fields
by the runtime's own kinds, built-in keys by what safelog writes there) and
returns rule codes only, never anything derived from the record.
"""

from __future__ import annotations

import json
import re

from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from safelog._context import BUILTIN_FIELDS
from safelog._metrics import is_dimension_text
from safelog.policy import FieldPolicy, Hashed, Id, Kind, Uuid

from ._rules import (
    BUILTIN_JUDGES,
    BUILTIN_KEYS,
    CLOUDWATCH_KEY,
    MARKER_EVENTS,
    MAX_RECORD_BYTES,
    REQUEST_JUDGES,
    emf_directive_ok,
    event_is_name,
    is_int,
    kind_judge,
    looks_like_content,
)


__all__ = ["RecordChecker"]


_CACHE_SIZE = 65_536


class RecordChecker:
    """
    Judges stored records against a field policy and, optionally, the event
    names the code can emit.

    *events*: constants of the code (``--source``); None means unknown, so
    only the shape of events is checked.
    """

    def __init__(self, policy: FieldPolicy, events: Collection[str] | None = None) -> None:
        # Frozen at construction, as the runtime's policy is.
        self.policy = policy
        self.kinds: Mapping[str, Kind] = policy.kinds
        self.events: frozenset[str] | None = None if events is None else frozenset(events)
        self._judges: Mapping[str, Callable[[object], bool]] = {
            **REQUEST_JUDGES,
            **{name: kind_judge(kind) for name, kind in self.kinds.items()},
        }
        #: Every non-built-in key this checker judges by a field's rules:
        #: the declared fields, then the integrations' request fields.
        self.fields: Mapping[str, Kind | None] = {
            **{n: k for n, k in BUILTIN_FIELDS.items() if n not in self.kinds},
            **self.kinds,
        }
        self._metrics: Mapping[str, str] = dict(policy.metrics())
        self._dimension_names = frozenset(policy.dimensions()) | {"service", "environment"}
        self._content_cache: dict[str, bool] = {}
        self._event_cache: dict[str, tuple[str, ...]] = {}
        self._opaque = frozenset(
            name for name, kind in self.fields.items() if isinstance(kind, (Hashed, Id, Uuid))
        )

    def check(self, message: str) -> list[str]:
        """The codes of the rules *message* breaks, sorted; empty if it conforms."""
        if (
            len(message) > MAX_RECORD_BYTES // 4
            and len(message.encode("utf-8", "replace")) > MAX_RECORD_BYTES
        ):
            return ["SA104"]
        text = message.strip()
        if not text.startswith(("{", "[", '"')) and not _looks_like_json_scalar(text):
            return ["SA101"]
        try:
            record = json.loads(text)
        except (ValueError, RecursionError):
            return ["SA102" if text.startswith("{") else "SA101"]
        if type(record) is not dict:
            return ["SA103"]
        found: set[str] = set()
        emf = "_aws" in record
        if emf:
            self._emf(record, found)
        elif type(record.get("event")) is not str:
            found.add("SA103")
        for key, value in record.items():
            if key == "_aws":
                continue
            judge = self._judges.get(key)
            if judge is not None:
                kind = self.kinds.get(key)
                if emf and kind is not None and kind.dimension and is_dimension_text(kind, value):
                    # EMF requires dimension values as strings (see _metrics).
                    continue
                if not judge(value):
                    found.add("SA202")
                    if any(looks_like_content(s) for s in _strings(value)):
                        found.add("SA401")
                elif key not in self._opaque and type(value) is str and self._content(value):
                    found.add("SA401")
                continue
            if key == "event":
                self._event(value, found)
            elif key in BUILTIN_KEYS or CLOUDWATCH_KEY.match(key):
                self._builtin(key, value, found)
            else:
                found.add("SA201")
                if any(looks_like_content(s) for s in _strings(value)):
                    found.add("SA401")
        return sorted(found)

    # -- parts -----------------------------------------------------------------

    def _content(self, value: str) -> bool:
        # Field values repeat (statuses, small ids): short ones are cached,
        # in a bounded table, so memory stays flat over millions of records.
        if len(value) > 64:
            return looks_like_content(value)
        cache = self._content_cache
        hit = cache.get(value)
        if hit is None:
            hit = looks_like_content(value)
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[value] = hit
        return hit

    def event_codes(self, event: str) -> list[str]:
        """The codes of the event rules *event* breaks (empty if it is fine)."""
        cache = self._event_cache
        hit = cache.get(event)
        if hit is None:
            hit = tuple(self._event_codes(event))
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[event] = hit
        return list(hit)

    def _event_codes(self, event: str) -> list[str]:
        if event in MARKER_EVENTS:
            return []
        out = []
        if self.events is not None:
            if event in self.events:
                return []
            out.append("SA301")
        if not event_is_name(event):
            out.append("SA302")
        if looks_like_content(event):
            out.append("SA401")
        return out

    def _event(self, value: object, found: set[str]) -> None:
        if type(value) is str:  # else SA103 already
            found.update(self.event_codes(value))

    def _builtin(self, key: str, value: object, found: set[str]) -> None:
        judge = BUILTIN_JUDGES.get(key)
        ok = judge(value) if judge is not None else key.startswith("cloudwatch_") and is_int(value)
        if not ok:
            found.add("SA203")
            if any(looks_like_content(s) for s in _strings(value)):
                found.add("SA401")

    def _emf(self, record: dict[str, Any], found: set[str]) -> None:
        # An embedded-metric-format record: its metrics and dimensions must
        # be declared fields (or built-in metadata), checked like any key.
        meta = record["_aws"]
        if type(meta) is not dict or set(meta) - {"Timestamp", "CloudWatchMetrics"}:
            found.add("SA203")
            return
        if not is_int(meta.get("Timestamp")) or type(meta.get("CloudWatchMetrics")) is not list:
            found.add("SA203")
            return
        for directive in meta["CloudWatchMetrics"]:
            if not emf_directive_ok(directive):
                found.add("SA203")
                return
            # Names and units come from the policy: metrics are declared
            # metric fields with their unit, dimensions declared dimensions.
            for m in directive["Metrics"]:
                if self._metrics.get(m["Name"]) != m.get("Unit"):
                    found.add("SA203")
            for dims in directive.get("Dimensions", []):
                if not self._dimension_names.issuperset(dims):
                    found.add("SA203")


def _looks_like_json_scalar(text: str) -> bool:
    return (
        text in ("true", "false", "null") or re.fullmatch(r"-?[0-9][0-9.eE+\-]*", text) is not None
    )


def _strings(value: object, depth: int = 0) -> Iterator[str]:
    """Every string in a parsed JSON value, keys included (bounded depth)."""
    if type(value) is str:
        yield value
    elif depth < 32 and type(value) is dict:
        for k, v in value.items():
            yield k
            yield from _strings(v, depth + 1)
    elif depth < 32 and type(value) is list:
        for v in value:
            yield from _strings(v, depth + 1)
