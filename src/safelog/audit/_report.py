"""
What an audit produces: findings, call counts and the report, as plain data.

A finding is (stream, timestamp, rule code): never the stored value, never
a key of the record. Stream names are shown only if they look like the
names writers give streams; any other stream is named by a digest, so a
hostile stream name cannot carry content (or terminal escapes) into the
report either.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading

from collections import Counter
from dataclasses import dataclass, field

from safelog.policy import FieldPolicy

from ._rules import looks_like_content


__all__ = [
    "AuditReport",
    "CallCounter",
    "Finding",
    "Window",
    "policy_digest",
    "stream_label",
]

_SAFE_STREAM = re.compile(r"[A-Za-z0-9._/\[\]$#=+\-]{1,128}\Z")


def stream_label(name: str) -> str:
    """How the report names a stream: its name, or a digest if it could hold content."""
    if _SAFE_STREAM.match(name) and not looks_like_content(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"<stream sha256:{digest}>"


@dataclass(frozen=True, order=True)
class Window:
    """A half-open time window ``[start, end)`` in epoch milliseconds."""

    start: int
    end: int

    def slices(self, size: int) -> list[Window]:
        """The window cut into consecutive pieces of at most *size* ms."""
        out: list[Window] = []
        t = self.start
        while t < self.end:
            out.append(Window(t, min(t + size, self.end)))
            t += size
        return out


@dataclass(frozen=True, order=True)
class Finding:
    """One non-conforming stored record and one rule it breaks."""

    timestamp: int
    stream: str
    rule: str


class CallCounter:
    """API calls made, by operation, and throttled attempts; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.throttled = 0

    def call(self, operation: str) -> None:
        with self._lock:
            self.calls[operation] += 1

    def throttle(self) -> None:
        with self._lock:
            self.throttled += 1

    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())


@dataclass
class AuditReport:
    """The result of auditing one log group over one window."""

    group: str
    window: Window
    engine: str
    policy_digest: str
    policy_source: str
    events_checked: bool
    scanned: int = 0
    findings: list[Finding] = field(default_factory=list)
    #: Findings beyond ``max_findings``: counted by rule, not kept.
    overflow: Counter[str] = field(default_factory=Counter)
    calls: dict[str, int] = field(default_factory=dict)
    throttled: int = 0
    elapsed: float = 0.0
    #: Slices taken over from a checkpoint of an earlier run.
    resumed_slices: int = 0

    @property
    def by_rule(self) -> Counter[str]:
        counts: Counter[str] = Counter(f.rule for f in self.findings)
        counts.update(self.overflow)
        return counts

    @property
    def records_with_findings(self) -> int:
        return len({(f.stream, f.timestamp) for f in self.findings})

    @property
    def rate(self) -> float:
        return self.scanned / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def conforming(self) -> bool:
        return not self.findings and not self.overflow


def policy_digest(policy: FieldPolicy) -> str:
    """A SHA-256 of the policy's fields, kinds and constraints: names the policy audited against."""
    data = [
        [name, kind.kind_name, kind.constraints()] for name, kind in sorted(policy.kinds.items())
    ]
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
