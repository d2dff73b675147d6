"""
CloudWatch Logs' limits, and the pure functions that respect them: cutting an
oversized record, taking the next batch, counting rejected events, the
retry delay. No I/O, no threads: each is unit-tested without a server.
"""

from __future__ import annotations

import random

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from safelog._keys import CUT_KEEP_FIRST
from safelog.processors import render_json_line


__all__ = [
    "BACKOFF_CAP",
    "CUT_MARKER",
    "EVENT_OVERHEAD",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "MAX_BATCH_SPAN_MS",
    "MAX_EVENT_BYTES",
    "RECOVERY_CAP",
    "Item",
    "backoff_delay",
    "count_rejected",
    "cut_line",
    "take_batch",
]

#: One queued line: (timestamp in ms, the line, its size in UTF-8 bytes).
Item = tuple[int, str, int]

#: CloudWatch's PutLogEvents limits.
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_SPAN_MS = 24 * 3600 * 1000
#: The largest message: one event must fit a batch on its own.
MAX_EVENT_BYTES = MAX_BATCH_BYTES - EVENT_OVERHEAD

#: The marker field of a record cut to fit CloudWatch's event limit.
CUT_MARKER = "safelog_cut"

BACKOFF_BASE = 0.1
#: The longest wait between two tries when CloudWatch pushes back
#: (throttling) or refuses (credentials, permissions).
BACKOFF_CAP = 10.0
#: The longest wait while the endpoint is unreachable or failing (5xx), and
#: while closing: a try is cheap then, and delivery resumes within about a
#: second of the endpoint coming back, before the queue fills.
RECOVERY_CAP = 1.0
# 0.1 s * 2**10 is past every cap: a larger exponent only risks overflow
# (2**1024 floats raise) after a long outage.
_BACKOFF_MAX_EXPONENT = 10

# Keys of a cut record, in the order they are kept while they fit.
_KEEP_FIRST = CUT_KEEP_FIRST


def backoff_delay(
    attempt: int, cap: float, uniform: Callable[[float, float], float] = random.uniform
) -> float:
    """
    The wait before try *attempt* + 1: full jitter (AWS architecture blog),
    which spreads the retries of many processes recovering from one outage.
    """
    exponent = min(max(attempt, 0), _BACKOFF_MAX_EXPONENT)
    return uniform(0, min(cap, BACKOFF_BASE * 2**exponent))


def count_rejected(response: object, n: int) -> int:
    """How many of *n* sent events ``rejectedLogEventsInfo`` says were not stored."""
    info = response.get("rejectedLogEventsInfo") if isinstance(response, Mapping) else None
    if not isinstance(info, Mapping):
        return 0
    old = -1
    for key in ("tooOldLogEventEndIndex", "expiredLogEventEndIndex"):
        idx = info.get(key)
        if type(idx) is int:
            old = max(old, idx)
    new = info.get("tooNewLogEventStartIndex")
    rejected = set(range(min(old + 1, n)))
    if type(new) is int:
        rejected.update(range(max(new, 0), n))
    return len(rejected)


def take_batch(pending: deque[Item], batch: list[Item]) -> list[Item]:
    """
    Move the next batch from *pending* into the empty list *batch*: at most
    `MAX_BATCH_EVENTS` events and `MAX_BATCH_BYTES` (26 bytes counted per
    event), spanning under 24 hours, sorted by time (stable, so lines of one
    millisecond keep their order). Returns the items that can never fit a
    batch, taken out so they cannot block the queue.
    """
    invalid: list[Item] = []
    weight = 0
    lo = hi = 0
    while pending and len(batch) < MAX_BATCH_EVENTS:
        item = pending[0]
        ts, _line, n = item
        w = n + EVENT_OVERHEAD
        if w > MAX_BATCH_BYTES:
            invalid.append(pending.popleft())
            continue
        if weight + w > MAX_BATCH_BYTES:
            break
        if batch:
            nlo, nhi = min(lo, ts), max(hi, ts)
            if nhi - nlo >= MAX_BATCH_SPAN_MS:
                break
            lo, hi = nlo, nhi
        else:
            lo = hi = ts
        pending.popleft()
        batch.append(item)
        weight += w
    batch.sort(key=lambda item: item[0])
    return invalid


def batch_weight(batch: list[Item]) -> int:
    """The size CloudWatch counts for *batch*: bytes plus 26 per event."""
    return sum(n for _ts, _line, n in batch) + EVENT_OVERHEAD * len(batch)


def utf8_size(line: str) -> int:
    """The UTF-8 size of *line*, cheaply for ASCII (most lines)."""
    return len(line) if line.isascii() else len(line.encode("utf-8", "replace"))


def cut_line(line: str, size: int) -> tuple[str, int]:
    """
    A valid JSON record under the event limit standing for *line* (*size*
    bytes, too big or empty), marked with the original size in `CUT_MARKER`.
    """
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        record = None
    if isinstance(record, dict):
        # Sizes are those of the rendered line (render_json_line escapes
        # some characters to 6 bytes), never orjson's.
        cut = _fit(record, size, MAX_EVENT_BYTES - 256)
        n = len(cut.encode("utf-8"))
        if n <= MAX_EVENT_BYTES:
            return cut, n
        # Only the scalars safelog adds itself, each small.
        cut = _fit(record, size, 4096, own_only=True, max_part=256)
        n = len(cut.encode("utf-8"))
        if n <= MAX_EVENT_BYTES:
            return cut, n
    cut = render_json_line({"event": "<unparseable-record>", CUT_MARKER: size})
    return cut, len(cut)


def _fit(
    record: Mapping[str, Any],
    size: int,
    budget: int,
    *,
    own_only: bool = False,
    max_part: int | None = None,
) -> str:
    """
    *record* rendered with the top-level keys that fit *budget* bytes (as
    rendered), `_KEEP_FIRST` first (only those with *own_only*), each at
    most *max_part* bytes; the others counted in ``dropped`` and the
    original *size* in `CUT_MARKER`.
    """
    order = [k for k in _KEEP_FIRST if k in record]
    if not own_only:
        order += [k for k in record if k not in _KEEP_FIRST]
    out: dict[str, Any] = {}
    dropped = len(record) - len(order)
    used = 0
    for key in order:
        # {"key":value}: 2 bytes more than its share of the joined line.
        part = len(render_json_line({key: record[key]}).encode("utf-8"))
        if key == CUT_MARKER or used + part > budget or (max_part and part > max_part):
            dropped += 1
            continue
        out[key] = record[key]
        used += part
    if type(out.get("dropped")) is int:
        out["dropped"] += dropped
    elif dropped:
        out["dropped"] = dropped
    out[CUT_MARKER] = size
    return render_json_line(out)
