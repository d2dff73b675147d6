"""
The shipper thread: takes batches from the queue, sends them through the
transport, retries with backoff, and counts what happens. One per process
(a forked child makes its own). It never raises and never loses what it
holds: an unexpected error puts the records back and is counted.
"""

from __future__ import annotations

# boto3 imports this module; imported at interpreter exit it raises
# ("can't register atexit after shutdown"), so a process that logs and exits
# at once could not ship. It is part of the standard library and light.
import concurrent.futures.thread  # noqa: F401
import contextlib
import os
import random
import threading

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from safelog._sinks import internal_threads

from ._limits import BACKOFF_CAP, RECOVERY_CAP, Item, backoff_delay, batch_weight, count_rejected
from ._limits import take_batch as take_next_batch
from ._transport import Action, Failure, Reason, Transport, classify, import_sdk


if TYPE_CHECKING:
    from ._queue import ShipQueue


__all__ = ["Shipper"]

# A batch the shipper thread failed on this many times in a row (an internal
# error, not CloudWatch's answer) is counted as invalid, so it cannot block
# the queue for ever.
MAX_INTERNAL_FAILURES = 3
#: The most recent PutLogEvents weights kept for benchmarks (bounded memory).
BATCH_WEIGHTS_KEPT = 1000
# Reasons worth a fast retry: nothing pushes back, and delivery must resume
# within about a second of the endpoint's return.
_FAST_RETRY = frozenset({Reason.ENDPOINT, Reason.SERVER, Reason.TIMEOUT})


class Settings(Protocol):
    """What the shipper reads of `safelog.CloudWatch`."""

    log_group: str
    retention_days: int | None
    send_interval: float

    def make_client(self) -> Any: ...


class Events(Protocol):
    """The sink's side: reports and failure bookkeeping."""

    def report_due(self) -> bool: ...
    def maybe_report(self, *, force: bool) -> bool: ...
    def failed(self, failure: Failure, operation: str) -> None: ...
    def succeeded(self) -> None: ...


class Shipper:
    """The shipper thread of one process, and what it keeps between batches."""

    def __init__(
        self,
        queue: ShipQueue,
        settings: Settings,
        stream: str,
        events: Events,
        client: Any = None,
    ) -> None:
        self.queue = queue
        self.settings = settings
        self.stream = stream
        self.events = events
        self.client = client
        self.transport: Transport | None = None
        self.kick = threading.Event()
        # Set once the thread has imported the SDK: a fork in the middle of
        # that import would leave the child a half-made module.
        self.ready = threading.Event()
        # Held while the client is built. Building one makes an
        # ssl.SSLContext, which holds OpenSSL's process-wide lock: a fork at
        # that moment leaves the child a lock nobody will release, and its
        # shipper hangs on its own first SSLContext. Fork waits for it.
        self.building = threading.Lock()
        self.thread: threading.Thread | None = None
        self.ident: int | None = None
        self.backoff_delays: list[float] = []
        #: (events, bytes counting 26 per event) of recent PutLogEvents calls.
        self.batch_weights: deque[tuple[int, int]] = deque(maxlen=BATCH_WEIGHTS_KEPT)
        #: The send function (an attribute so a test can wrap it).
        self.send: Callable[[list[Item]], None] = self._send
        #: The jitter source (a test sets the worst case: always the bound).
        self.uniform: Callable[[float, float], float] = random.uniform

    def start(self) -> None:
        """With the queue's lock held: start the thread."""
        thread = threading.Thread(target=self._run, name="safelog-cloudwatch", daemon=True)
        thread.start()
        self.thread = thread

    # -- the thread ------------------------------------------------------------

    def _run(self) -> None:
        ident = threading.get_ident()
        self.ident = ident
        internal_threads.add(ident)
        try:
            # Import the SDK now, not at the first send, which may be at
            # interpreter exit. A fork waits for this import only: the client
            # factory may be slow (STS assume-role) and must not hold it up.
            with contextlib.suppress(Exception):
                import_sdk()
            self.ready.set()
            # Build the client now too (no network I/O with the default one).
            with contextlib.suppress(Exception):
                self._get_transport()
            self._loop()
        except Exception:  # noqa: BLE001 -- the thread must end quietly; counted
            self.queue.counters.errors += 1
        finally:
            self.ready.set()
            internal_threads.discard(ident)
            with self.queue.cond:
                if self.thread is not None and self.thread.ident == ident:
                    self.thread = None
                self.queue.cond.notify_all()

    def _loop(self) -> None:
        """
        The shipping loop. An unexpected error never loses what the thread
        holds: it is counted, the records go back to the head of the queue
        and shipping goes on after a backoff; a batch that fails this way
        `MAX_INTERNAL_FAILURES` times in a row is counted as invalid and
        reported, so it cannot block the queue.
        """
        queue = self.queue
        pending: deque[Item] = deque()
        batch: list[Item] = []
        failures = 0
        while True:
            try:
                with queue.cond:
                    due = queue.wait_for_batch(
                        self.settings.send_interval,
                        pending=bool(pending),
                        report_due=self.events.report_due,
                    )
                    if not due:
                        return
                    pending.extend(queue.take_all())
                self._take_batch(pending, batch)
                if batch:
                    self.send(batch)
                batch.clear()
                failures = 0
                self.events.maybe_report(force=False)
            except Exception:  # noqa: BLE001 -- counted; the records are kept
                queue.counters.errors += 1
                failures += 1
                dropped = bool(batch) and failures >= MAX_INTERNAL_FAILURES
                if dropped:
                    failures = 0
                    queue.finish(batch, delivered=0, invalid=len(batch))
                    batch = []
                queue.requeue(batch, pending)
                batch, pending = [], deque()
                try:
                    if dropped:
                        self.events.maybe_report(force=True)
                    self.backoff(max(failures, 1), Reason.OTHER)
                except Exception:  # noqa: BLE001
                    self.kick.wait(0.1)
                    self.kick.clear()

    def _take_batch(self, pending: deque[Item], batch: list[Item]) -> None:
        invalid = take_next_batch(pending, batch)
        if invalid:
            # Cannot happen (`write` cuts such records); if it does, they
            # are counted and reported instead of blocking the queue.
            self.queue.finish(invalid, delivered=0, invalid=len(invalid))
            self.events.maybe_report(force=True)

    def _get_transport(self) -> Transport:
        if self.transport is None:
            if self.client is None:
                with self.building:
                    self.client = self.settings.make_client()
            self.transport = Transport(
                self.client, self.settings.log_group, self.stream, self.settings.retention_days
            )
        return self.transport

    def _send(self, batch: list[Item]) -> None:
        events = [{"timestamp": ts, "message": line} for ts, line, _n in batch]
        weight = batch_weight(batch)
        counters = self.queue.counters
        attempt = missing = 0
        maybe_sent = False
        while not self.queue.abandoned:
            response: Any = None
            operation = "PutLogEvents"
            try:
                transport = self._get_transport()
                counters.put_calls += 1
                response = transport.put(events)
                failure = None
            except Exception as exc:  # noqa: BLE001 -- classified by type/code only
                failure = classify(exc)
                operation = self.transport.operation if self.transport else "CreateClient"
            if failure is not None and failure.action is Action.MISSING and missing < 3:
                missing += 1
                failure = self._ensure_stream()
                if failure is None:
                    continue
            if failure is not None and failure.action is Action.INVALID:
                self.events.succeeded()  # CloudWatch answered: the path works
                self.queue.finish(batch, delivered=0, invalid=len(batch))
                return
            if failure is not None and failure.action is not Action.OK:
                counters.failed[failure.reason] += 1
                maybe_sent = maybe_sent or failure.maybe_sent
                self.events.failed(failure, operation)
                attempt += 1
                counters.retries += 1
                self.backoff(attempt, failure.reason)
                continue
            if maybe_sent:
                counters.possible_duplicates += len(batch)
            self.events.succeeded()
            rejected = count_rejected(response, len(events))
            self.batch_weights.append((len(batch), weight))
            # Setup first: once a flush() sees the batch done, the group is
            # fully configured (retention is one call per process).
            self._apply_retention()
            self.queue.finish(batch, delivered=len(batch) - rejected, rejected=rejected)
            return

    def _ensure_stream(self) -> Failure | None:
        """Create group and stream; the failure if that fails (counted)."""
        transport = self.transport
        if transport is None:
            return None
        try:
            transport.ensure_stream()
        except Exception as exc:  # noqa: BLE001 -- classified by type/code only
            self.queue.counters.setup_errors += 1
            failure = classify(exc)
            if failure.action is not Action.RETRY:
                return Failure(Action.RETRY, failure.reason, failure.error, failure.code)
            return failure
        return None

    def _apply_retention(self) -> None:
        transport = self.transport
        if transport is None or transport.retention_applied:
            return
        try:
            transport.apply_retention()
        except Exception:  # noqa: BLE001 -- retention is best effort, counted
            self.queue.counters.setup_errors += 1

    def backoff(self, attempt: int, reason: Reason) -> None:
        """Wait before the next try (a flush or close cuts it short)."""
        fast = self.queue.closing or reason in _FAST_RETRY
        cap = RECOVERY_CAP if fast else BACKOFF_CAP
        delay = backoff_delay(attempt, cap, self.uniform)
        if len(self.backoff_delays) < 1000:
            self.backoff_delays.append(delay)
        # During an outage, losses (queue overflow) are reported as they
        # happen, at most once per report interval.
        self.events.maybe_report(force=False)
        self.kick.wait(delay)
        self.kick.clear()

    # -- fork --------------------------------------------------------------------

    def before_fork(self, build_wait: float) -> bool:
        """
        Wait until no client is being built (at most *build_wait* s: a user
        factory slower than that, an STS call, delays the fork no longer).
        True when `building` is now held and must be released after the fork.
        """
        if self.thread is None or threading.get_ident() == self.ident:
            return False
        self.ready.wait(10)
        return self.building.acquire(timeout=build_wait)

    def is_current_process(self) -> bool:
        return self.queue.pid == os.getpid()
