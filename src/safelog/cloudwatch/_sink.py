"""
The CloudWatch sink: what ``configure`` adds for ``cloudwatch=``. `write`
appends to a bounded queue and returns (no I/O, never raises); one shipper
thread per process sends; `flush`/`close` wait at most their deadline and
count what is left. It knows nothing of safelog's configuration: it gets
its metadata and a ``report`` callable (which hands a finished JSON line,
such as a loss record, to the other sinks) when it is made.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from safelog._sinks import internal_threads

from ._accounting import failure_record, loss_record, recovered_record
from ._limits import MAX_EVENT_BYTES, cut_line, utf8_size
from ._queue import REPORT_INTERVAL, ShipQueue
from ._transport import LOUD, Action, Failure, Reason, classify, fresh_connections
from ._worker import Settings, Shipper


if TYPE_CHECKING:
    from collections import deque


__all__ = ["CloudWatchSink"]

_DEFAULT_TIMEOUT = 5.0
#: How long a fork waits for the shipper thread to finish building its
#: client (seconds). Building the default client takes a fraction of that.
FORK_BUILD_WAIT = 2.0

_PROBLEM_TEXT = {
    Reason.ENDPOINT: "CloudWatch Logs cannot be reached: check endpoint_url, network and DNS",
    Reason.CREDENTIALS: "no valid AWS credentials: provide credentials to the process",
    Reason.ACCESS_DENIED: "AWS denies the call: grant logs:CreateLogStream and "
    "logs:PutLogEvents (and logs:CreateLogGroup) on the log group",
    Reason.REGION: "no AWS region: pass CloudWatch(region=...) or set AWS_DEFAULT_REGION",
    Reason.OTHER: "CloudWatch Logs calls fail: see the cloudwatch_failed_* counters",
}


class SinkSettings(Settings, Protocol):
    """What the sink reads of `safelog.CloudWatch` (beyond the shipper's part)."""

    stream: str
    client: Any
    max_queue_events: int
    max_queue_bytes: int


class CloudWatchSink:
    """
    The sink `CloudWatch.create_sink` returns. `write` never blocks on
    CloudWatch and never raises; `stats` says what happened to every line.
    """

    def __init__(
        self,
        config: SinkSettings,
        metadata: Mapping[str, Any],
        *,
        report: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        # Copied once: only trusted infrastructure metadata, for stream names
        # and loss records.
        self._meta = {
            k: metadata.get(k)
            for k in ("service", "environment", "host")
            if metadata.get(k) is not None
        }
        self._report = report
        self._now = time.time
        self._stale_clients: list[Any] = []
        self._init_process_state(client=None)

    def _init_process_state(self, client: Any) -> None:
        self.queue = ShipQueue(self.config.max_queue_events, self.config.max_queue_bytes)
        self._lock = self.queue.lock
        self.stream_name = self._format_stream()
        self.shipper = Shipper(self.queue, self.config, self.stream_name, self, client)
        self._building_held = False
        self._report_line: str | None = None
        self._last_report = 0.0
        self._reported = 0
        # Reasons reported since the last success: (reason, error, code, operation).
        self._failing: dict[Reason, tuple[str, str, str]] = {}

    def _format_stream(self) -> str:
        name = self.config.stream.format(
            service=self._meta.get("service", "service"),
            hostname=self._meta.get("host") or "unknown-host",
            environment=self._meta.get("environment", "none"),
            pid=os.getpid(),
        )
        return name.replace(":", "-").replace("*", "-")[:512]

    @property
    def backoff_delays(self) -> list[float]:
        """The delays the shipper waited before retries (the first 1,000)."""
        return self.shipper.backoff_delays

    @property
    def batch_weights(self) -> deque[tuple[int, int]]:
        """(events, bytes counting 26 per event) of recent PutLogEvents calls."""
        return self.shipper.batch_weights

    @property
    def closed(self) -> bool:
        return self.queue.closed

    # -- the caller's side ---------------------------------------------------

    def write(self, line: str) -> None:
        """Queue one line; O(1), no I/O, never raises."""
        queue = self.queue
        try:
            n = utf8_size(line)
            if n > MAX_EVENT_BYTES or n == 0:
                queue.counters.cut += 1
                line, n = cut_line(line, n)
            ts = int(self._now() * 1000)
            with self._lock:
                if queue.closed:
                    if line is not self._report_line:
                        queue.counters.dropped_closed += 1
                    return
                queued = queue.put((ts, line, n), privileged=line is self._report_line)
                if queued and self.shipper.thread is None:
                    self.shipper.start()
        except Exception:  # noqa: BLE001 -- never raise into the caller
            queue.counters.errors += 1

    # -- reports (called by the shipper thread, and by flush/close) ------------

    def report_due(self) -> bool:
        return self._reported != self.queue.counters.dropped()

    def maybe_report(self, *, force: bool) -> bool:
        """Report new losses (at most once per interval unless *force*)."""
        with self._lock:
            counters = self.queue.counters
            total = counters.dropped()
            now = time.monotonic()
            if total == self._reported:
                return False
            if not force and now - self._last_report < REPORT_INTERVAL and self._reported:
                return False
            new = total - self._reported
            self._reported = total
            self._last_report = now
            counters.loss_reports += 1
            line = loss_record(self._meta, counters, new)
            self._report_line = line
        self._emit(line)
        return True

    def failed(self, failure: Failure, operation: str) -> None:
        """A call failed: the first of each loud reason is reported at once."""
        if failure.reason not in LOUD or failure.reason in self._failing:
            return
        self._failing[failure.reason] = (failure.error, failure.code, operation)
        self.queue.counters.failure_reports += 1
        # Not queued for CloudWatch itself: it is what cannot be reached.
        self._emit(
            failure_record(self._meta, failure.reason, failure.error, failure.code, operation),
            ship=False,
        )

    def succeeded(self) -> None:
        """A call succeeded: failures reported before are over."""
        if self._failing:
            self._failing.clear()
            self._emit(recovered_record(self._meta, "PutLogEvents"), ship=False)

    def _emit(self, line: str, *, ship: bool = True) -> None:
        """Hand *line* to the other sinks, and with *ship* queue it here too."""
        try:
            if ship:
                self._report_line = line
                self.write(line)
            if self._report is not None:
                self._report(line)
            else:
                # A loss is never silent: with no other sink, say it on stderr.
                sys.stderr.write(line + "\n")
                sys.stderr.flush()
        except Exception:  # noqa: BLE001
            self.queue.counters.errors += 1

    def problems(self) -> list[tuple[str, str, str]]:
        """
        What fails now, for ``self_check()``: (code, SDK error class,
        constant message) per loud reason since the last successful call.
        """
        return [
            (f"cloudwatch-{reason.value.replace('_', '-')}", error, _PROBLEM_TEXT[reason])
            for reason, (error, _code, _op) in list(self._failing.items())
        ]

    # -- flush, close, stats ---------------------------------------------------

    def flush(self, timeout: float | None = None) -> None:
        """
        Wait (at most *timeout* s) until every line accepted so far is sent
        or counted; a loss found meanwhile is reported and its record flushed
        too.
        """
        deadline = time.monotonic() + (_DEFAULT_TIMEOUT if timeout is None else max(timeout, 0))
        self.maybe_report(force=True)
        self._flush(deadline - time.monotonic())
        if self.maybe_report(force=True):
            self._flush(deadline - time.monotonic())

    def _flush(self, timeout: float) -> None:
        deadline = time.monotonic() + max(timeout, 0)
        if not self.shipper.is_current_process():
            self.after_fork_in_child()
        if threading.get_ident() == self.shipper.ident:
            return
        queue = self.queue
        with queue.cond:
            target = queue.counters.accepted
            if queue.counters.done >= target:
                return
            if self.shipper.thread is None and not queue.closed:
                self.shipper.start()
            self.shipper.kick.set()
            queue.wait_done(target, deadline)

    def close(self, timeout: float | None = None) -> None:
        """
        Flush within *timeout*, then stop. Lines still unsent at the deadline
        are counted as ``dropped_exit`` and reported in one record.
        """
        queue = self.queue
        with queue.cond:
            if queue.closed:
                return
            queue.closing = True
            queue.cond.notify_all()
        self.shipper.kick.set()
        self._flush(_DEFAULT_TIMEOUT if timeout is None else timeout)
        with queue.cond:
            queue.abandon()
        self.shipper.kick.set()
        self.maybe_report(force=True)

    def stats(self) -> dict[str, int]:
        """Counters, metadata only (``cloudwatch_*``)."""
        with self._lock:
            out = self.queue.counters.as_stats()
            out["cloudwatch_queued"] = self.queue.held_events
            out["cloudwatch_queued_bytes"] = self.queue.held_bytes
        return out

    def read_back(self, timeout: float = 10.0) -> list[str]:
        """
        Flush (at most *timeout* s), then return the messages CloudWatch
        stored for this sink's log group (all streams), oldest first. For
        tests and the demo: it does network I/O in the calling thread.

        The read has its own *timeout*, so a slow flush cannot make it
        return early: a read not complete by then raises `TimeoutError`,
        never a partial or empty list. Records the flush could not deliver
        in time are not in the result (``stats()["cloudwatch_queued"]``).
        """
        self.flush(timeout)
        ident = threading.get_ident()
        added = ident not in internal_threads
        # botocore records this call causes are not shipped.
        internal_threads.add(ident)
        try:
            return _read_group(self.config.make_client(), self.config.log_group, timeout)
        finally:
            if added:
                internal_threads.discard(ident)

    # -- fork (called by the process lifecycle around os.fork) -------------------

    def before_fork(self) -> None:
        """Hold the queue still, and let no fork land while a client is built."""
        self._building_held = self.shipper.before_fork(FORK_BUILD_WAIT)
        self._lock.acquire()

    def after_fork_in_parent(self) -> None:
        self._lock.release()
        if self._building_held:
            self._building_held = False
            self.shipper.building.release()

    def after_fork_in_child(self) -> None:
        """
        The parent's queue is the parent's to ship: the child starts empty,
        with its own lock, thread, stream and connections.
        """
        if self.shipper.is_current_process():
            return  # already done (a multiprocessing hook and at-fork both call it)
        old_client = self.shipper.client
        old_ident = self.shipper.ident
        closed = self.queue.closed
        if old_ident is not None:
            internal_threads.discard(old_ident)
        client = None
        if old_client is not None:
            # Closing its sockets here could disturb the parent's: keep it.
            self._stale_clients.append(old_client)
            if old_client is self.config.client:
                fresh_connections(old_client)
                client = old_client
        self._init_process_state(client)
        self.queue.closed = closed


def _read_group(client: Any, group: str, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    events: list[tuple[int, str]] = []
    kwargs: dict[str, Any] = {"logGroupName": group}
    while True:
        if "nextToken" in kwargs and time.monotonic() >= deadline:
            msg = "read_back: CloudWatch did not answer within the timeout"
            raise TimeoutError(msg)
        try:
            page = client.filter_log_events(**kwargs)
        except Exception as exc:
            if classify(exc).action is Action.MISSING:
                return []
            raise
        events.extend((e["timestamp"], e["message"]) for e in page.get("events", ()))
        token = page.get("nextToken")
        if not token or token == kwargs.get("nextToken"):
            break
        kwargs["nextToken"] = token
    events.sort(key=lambda e: e[0])
    return [message for _ts, message in events]
