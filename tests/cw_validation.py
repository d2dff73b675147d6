"""
A validating, fault-injecting layer in front of the real moto server.

moto stores what PutLogEvents sends but enforces few of CloudWatch's limits,
so `CloudWatchLimits` hooks the client's ``before-send`` event and rejects,
like CloudWatch would (400 InvalidParameterException), any batch that breaks
one: 1 to 10,000 events, at most 1,048,576 bytes counting 26 per event, no
empty or over-1 MB event, chronological order, a span under 24 hours. Every
violation is recorded; the test fixture fails the test if there is any.

It also injects faults for the next N PutLogEvents calls: throttling, 5xx,
a slow response, or a response held until the test releases it.
"""

from __future__ import annotations

import json
import threading
import time

from collections import deque
from collections.abc import Callable
from typing import Any


MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26
MAX_BATCH_EVENTS = 10_000
MAX_SPAN_MS = 24 * 3600 * 1000


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_kwargs: Any) -> Any:
        yield self._body


def error_response(status: int, code: str, message: str) -> Any:
    """A CloudWatch-shaped JSON error response, parsed by botocore as usual."""
    from botocore.awsrequest import AWSResponse

    body = json.dumps({"__type": code, "message": message}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "test"}
    return AWSResponse("http://127.0.0.1/", status, headers, _Raw(body))


def check_batch(events: list[dict[str, Any]]) -> list[str]:
    """The CloudWatch limits *events* breaks (metadata-only descriptions)."""
    problems = []
    if not 1 <= len(events) <= MAX_BATCH_EVENTS:
        problems.append(f"batch has {len(events)} events")
    weight = 0
    last = None
    for ev in events:
        size = len(ev["message"].encode("utf-8"))
        if size == 0:
            problems.append("empty message")
        if size + EVENT_OVERHEAD > MAX_BATCH_BYTES:
            problems.append(f"event of {size} bytes over the event limit")
        weight += size + EVENT_OVERHEAD
        if last is not None and ev["timestamp"] < last:
            problems.append("events not in chronological order")
        last = ev["timestamp"]
    if weight > MAX_BATCH_BYTES:
        problems.append(f"batch of {weight} bytes over {MAX_BATCH_BYTES}")
    if events:
        stamps = [ev["timestamp"] for ev in events]
        if max(stamps) - min(stamps) >= MAX_SPAN_MS:
            problems.append("batch spans 24 hours or more")
    return problems


class CloudWatchLimits:
    """Install with `install(client)`; inspect `violations`, `batches`, `threads`."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        #: (events, bytes counting 26 per event) of each valid PutLogEvents.
        self.batches: list[tuple[int, int]] = []
        #: Idents of the threads that called PutLogEvents.
        self.threads: set[int] = set()
        self.calls = 0
        self._faults: deque[Callable[[], Any]] = deque()
        self._lock = threading.Lock()
        self.released = threading.Event()
        self.released.set()

    def install(self, client: Any) -> Any:
        client.meta.events.register("before-send.cloudwatch-logs", self._before_send)
        return client

    # -- faults, each for the next PutLogEvents call(s) -------------------------

    def fail(self, count: int, status: int, code: str, message: str = "injected") -> None:
        for _ in range(count):
            self._faults.append(lambda: error_response(status, code, message))

    def slow(self, count: int, seconds: float) -> None:
        def delay() -> None:
            time.sleep(seconds)

        for _ in range(count):
            self._faults.append(delay)

    def clear(self) -> None:
        """Drop the faults not yet used."""
        self._faults.clear()

    def hold(self) -> None:
        """Hold PutLogEvents calls until `release` (an unresponsive CloudWatch)."""
        self.released.clear()

    def release(self) -> None:
        self.released.set()

    # -- the hook ---------------------------------------------------------------

    def _before_send(self, request: Any, **_kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
        target = request.headers.get("X-Amz-Target", b"")
        if isinstance(target, bytes):
            target = target.decode()
        if not target.endswith(".PutLogEvents"):
            return None
        with self._lock:
            self.threads.add(threading.get_ident())
        # Wait at most a minute, so a broken test cannot hang the run.
        self.released.wait(60)
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        payload = json.loads(body)
        events = payload.get("logEvents", [])
        problems = check_batch(events)
        if problems:
            with self._lock:
                self.violations.extend(problems)
            return error_response(400, "InvalidParameterException", "limit violated")
        try:
            fault = self._faults.popleft()
        except IndexError:
            fault = None
        if fault is not None:
            response = fault()
            if response is not None:
                return response
        weight = sum(len(e["message"].encode("utf-8")) + EVENT_OVERHEAD for e in events)
        with self._lock:
            self.batches.append((len(events), weight))
        return None
