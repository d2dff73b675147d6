"""
The CloudWatch shipper: a bounded queue fed by the caller, one background
thread per process that batches and sends through watchtower's
``CloudWatchLogHandler``.

What this layer changes in watchtower 3.4.0, each for the promise:

- The caller never touches the network or a lock held across I/O: `write`
  appends to a bounded deque (events *and* bytes) and returns; overflow is
  counted and reported later as one metadata record.
- watchtower's constructor does network I/O and raises when CloudWatch is
  unreachable: ours is built lazily in the shipper thread, with
  ``create_log_group=False``; group, stream and retention are handled on the
  first send, and re-created when deleted later, holding (never dropping)
  the batch meanwhile. ``emit`` is never used, so nothing is dropped while a
  stream is being created.
- Batches are cut to CloudWatch's limits before sending (1,048,576 bytes
  counting 26 per event, 10,000 events, chronological, under 24 h); a record
  over 1 MB becomes a valid JSON record marked ``safelog_cut``.
- Throttling, 5xx and connection errors are retried with jittered
  exponential backoff, for as long as the process lives or until the close
  deadline (never "5 tries, then drop the batch");
  ``rejectedLogEventsInfo`` is counted, not retried.
- ``flush``/``close`` wait at most the deadline they are given; what is left
  then is counted as lost at exit and reported.
- The handler is never attached to a logger, and its ``flush``/``close`` are
  inert, so ``logging.config.dictConfig`` or ``logging.shutdown`` cannot
  turn shipping off; the sink owns its lifecycle.
- SIGTERM (when the service has no handler), ``fork`` (own client, queue,
  thread and stream in the child; ``multiprocessing`` children flush before
  their ``os._exit``) and interpreter exit all flush within a deadline.
- No SDK error message is ever printed or shipped: errors are classified by
  type and code, and only counters leave this module. The shipper thread is
  in ``_sinks.internal_threads``, so botocore/urllib3 records it causes are
  never shipped.
"""

from __future__ import annotations

import atexit

# boto3 imports this module; imported at interpreter exit it raises
# ("can't register atexit after shutdown"), so a process that logs and exits
# at once could not ship. It is part of the standard library and light.
import concurrent.futures.thread  # noqa: F401
import contextlib
import os
import random
import signal
import sys
import threading
import time
import weakref

from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from ._sinks import ConsoleSink, Dispatcher, internal_threads
from .processors import add_timestamp, render_json_line


if TYPE_CHECKING:
    from .cloudwatch import CloudWatch


__all__ = [
    "EVENT_OVERHEAD",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "MAX_BATCH_SPAN_MS",
    "MAX_EVENT_BYTES",
    "CloudWatchSink",
]

#: CloudWatch's PutLogEvents limits.
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_SPAN_MS = 24 * 3600 * 1000
#: The largest message: one event must fit a batch on its own.
MAX_EVENT_BYTES = MAX_BATCH_BYTES - EVENT_OVERHEAD

#: The record reporting losses, and its logger name.
LOSS_EVENT = "safelog.cloudwatch.loss"
_LOGGER = "safelog.cloudwatch"
#: The marker field of a record cut to fit CloudWatch's event limit.
CUT_MARKER = "safelog_cut"

_BACKOFF_BASE = 0.1
_BACKOFF_CAP = 10.0
_BACKOFF_CAP_CLOSING = 1.0
# 0.1 s * 2**10 is past every cap: a larger exponent only risks overflow
# (2**1024 floats raise) after a long outage.
_BACKOFF_MAX_EXPONENT = 10
# A batch the shipper thread failed on this many times in a row (an internal
# error, not CloudWatch's answer) is counted as invalid, so it cannot block
# the queue for ever.
_MAX_INTERNAL_FAILURES = 3
# The most recent PutLogEvents weights kept for benchmarks (bounded memory).
#: How long a fork waits for the shipper thread to finish building its
#: client (seconds). Building the default client takes a fraction of that.
_FORK_BUILD_WAIT = 2.0
_BATCH_WEIGHTS_KEPT = 1000
_REPORT_INTERVAL = 10.0
_DEFAULT_TIMEOUT = 5.0
_NEVER = sys.maxsize

_OK, _RETRY, _MISSING, _INVALID = range(4)
_RETRY_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "InternalFailure",
        "RequestTimeout",
        "RequestTimeoutException",
        "OperationAbortedException",
        "InvalidSequenceTokenException",
    }
)
_INVALID_CODES = frozenset({"InvalidParameterException", "ValidationException"})

# Keys of a cut record, in the order they are kept while they fit.
_KEEP_FIRST = (
    "timestamp",
    "level",
    "logger",
    "event",
    "service",
    "environment",
    "host",
    "pid",
    "module",
    "function",
    "line",
    "dropped",
)

_live: weakref.WeakSet[CloudWatchSink] = weakref.WeakSet()


def _classify(exc: BaseException) -> int:
    """What to do after *exc*; looks at types and codes, never messages."""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        error = response.get("Error")
        code = error.get("Code") if isinstance(error, Mapping) else None
        meta = response.get("ResponseMetadata")
        status = meta.get("HTTPStatusCode") if isinstance(meta, Mapping) else None
        if code == "ResourceNotFoundException":
            return _MISSING
        if code == "DataAlreadyAcceptedException":
            return _OK
        if code in _INVALID_CODES:
            return _INVALID
        if code in _RETRY_CODES or (type(status) is int and (status >= 500 or status == 429)):
            return _RETRY
        # Access denied, expired credentials and the like: the batch is kept
        # and retried with backoff; fixing IAM resumes delivery.
        return _RETRY
    # Connection refused/reset, timeouts, missing credentials, import errors.
    return _RETRY


def _count_rejected(response: object, n: int) -> int:
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


_transport_class: Any = None


def _get_transport_class() -> Any:
    """watchtower's handler, with every network-touching default turned off."""
    global _transport_class  # noqa: PLW0603
    if _transport_class is not None:
        return _transport_class
    import watchtower

    class Transport(watchtower.CloudWatchLogHandler):  # type: ignore[misc,unused-ignore]
        """
        One stream's sender. Built with ``create_log_group=False`` and no
        retention or tags, so the constructor does no network I/O; never
        attached to a logger.
        """

        def __init__(self, client: Any, group: str, stream: str, retention: int | None) -> None:
            super().__init__(
                log_group_name=group,
                log_stream_name=stream,
                use_queues=False,
                boto3_client=client,
                create_log_group=False,
                create_log_stream=True,
                max_message_size=MAX_BATCH_BYTES,
            )
            self.retention = retention
            self.retention_applied = retention is None

        def _call(self, method: str, **kwargs: Any) -> None:
            # watchtower's: swallows "already exists" (untyped upstream).
            handler: Any = self
            handler._idempotent_call(method, **kwargs)

        def put(self, events: list[dict[str, Any]]) -> Any:
            # No sequenceToken: CloudWatch ignores it since 2023.
            handler: Any = self
            return handler.cwl_client.put_log_events(
                logGroupName=self.log_group_name,
                logStreamName=self.log_stream_name,
                logEvents=events,
            )

        def ensure_stream(self) -> None:
            """Create the stream, and the group first if it is missing."""
            try:
                self._call(
                    "create_log_stream",
                    logGroupName=self.log_group_name,
                    logStreamName=self.log_stream_name,
                )
            except Exception as exc:
                if _classify(exc) != _MISSING:
                    raise
                self._call("create_log_group", logGroupName=self.log_group_name)
                self.retention_applied = self.retention is None
                self._call(
                    "create_log_stream",
                    logGroupName=self.log_group_name,
                    logStreamName=self.log_stream_name,
                )

        def apply_retention(self) -> None:
            self.retention_applied = True
            self._call(
                "put_retention_policy",
                logGroupName=self.log_group_name,
                retentionInDays=self.retention,
            )

        # logging.shutdown() and dictConfig() call these on every handler
        # ever made; the sink, not the logging module, decides when to stop.
        def emit(self, record: Any) -> None:
            return

        def flush(self) -> None:
            return

        def close(self) -> None:
            return

        def __repr__(self) -> str:
            return "<safelog CloudWatch transport>"

    _transport_class = Transport
    return Transport


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


def _import_sdk() -> None:
    """Import what the shipper needs (no client is built, no network I/O)."""
    import encodings.idna  # noqa: F401 -- imported lazily by the first client

    import boto3  # noqa: F401

    from botocore.config import Config  # noqa: F401

    _get_transport_class()


def _exit_timeout() -> float:
    from . import _state

    state = _state.current()
    return state.shutdown_timeout if state is not None else _DEFAULT_TIMEOUT


class CloudWatchSink:
    """
    The sink `CloudWatch.create_sink` returns. `write` never blocks on
    CloudWatch and never raises; `stats` says what happened to every line.
    """

    def __init__(self, config: CloudWatch, metadata: Mapping[str, Any]) -> None:
        self.config = config
        # Copied once: only trusted infrastructure metadata, for stream names
        # and loss records.
        self._meta = {
            k: metadata.get(k)
            for k in ("service", "environment", "host")
            if metadata.get(k) is not None
        }
        self._now = time.time
        self._mp_registered = False
        self._stale_clients: list[Any] = []
        # The configured dispatcher (found lazily; configure() makes the sink
        # before the dispatcher exists). Loss records go through it.
        self._dispatcher: Dispatcher | None = None
        self._init_process_state()
        self._sigterm_installed = config.handle_sigterm and _install_sigterm()
        _live.add(self)
        # Made in a multiprocessing child (a worker that configures safelog
        # itself): flush before its os._exit, as an inherited sink does.
        mp = sys.modules.get("multiprocessing")
        if mp is not None and mp.parent_process() is not None:
            _mp_after_fork(self)

    # -- per-process state ---------------------------------------------------

    def _init_process_state(self) -> None:
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._kick = threading.Event()
        # Set once the shipper thread has imported the SDK: a fork in the
        # middle of that import would leave the child a half-made module.
        self._ready = threading.Event()
        # Held while the shipper thread builds its client. Building one makes
        # an ssl.SSLContext, which holds OpenSSL's process-wide lock: a fork
        # at that moment leaves the child a lock nobody will release, and its
        # shipper hangs on its own first SSLContext. Fork waits for it.
        self._building = threading.Lock()
        self._building_held = False
        self._pid = os.getpid()
        self.stream_name = self._format_stream()
        self._queue: deque[tuple[int, str, int]] = deque()
        self._held_events = 0
        self._held_bytes = 0
        self._wake_events = _NEVER
        self._wake_weight = _NEVER
        self._thread: threading.Thread | None = None
        self._thread_ident: int | None = None
        self._flush_waiters = 0
        self._closing = False
        self._closed = False
        self._abandon = False
        self._report_line: str | None = None
        self._transport: Any = None
        self._client: Any = None
        self._last_report = 0.0
        self._reported = 0
        self.backoff_delays: list[float] = []
        #: (events, bytes counting 26 per event) of recent PutLogEvents calls.
        self.batch_weights: deque[tuple[int, int]] = deque(maxlen=_BATCH_WEIGHTS_KEPT)
        self._c = dict.fromkeys(
            (
                "accepted",
                "done",
                "delivered",
                "dropped_overflow",
                "dropped_rejected",
                "dropped_invalid",
                "dropped_exit",
                "dropped_closed",
                "cut",
                "retries",
                "put_calls",
                "setup_errors",
                "errors",
                "loss_reports",
            ),
            0,
        )

    def _format_stream(self) -> str:
        name = self.config.stream.format(
            service=self._meta.get("service", "service"),
            hostname=self._meta.get("host") or "unknown-host",
            environment=self._meta.get("environment", "none"),
            pid=os.getpid(),
        )
        return name.replace(":", "-").replace("*", "-")[:512]

    # -- the caller's side ---------------------------------------------------

    def write(self, line: str) -> None:
        """Queue one line; O(1), no I/O, never raises."""
        try:
            n = len(line) if line.isascii() else len(line.encode("utf-8", "replace"))
            if n > MAX_EVENT_BYTES or n == 0:
                line, n = self._cut(line, n)
            ts = int(self._now() * 1000)
            with self._lock:
                if self._closed:
                    if line is not self._report_line:
                        self._c["dropped_closed"] += 1
                    return
                held = self._held_events
                # A loss record may exceed the cap by one line: it reports
                # the overflow, so it must not become part of it.
                if (
                    held >= self.config.max_queue_events
                    or self._held_bytes + n > self.config.max_queue_bytes
                ) and line is not self._report_line:
                    self._c["dropped_overflow"] += 1
                    return
                self._queue.append((ts, line, n))
                held += 1
                self._held_events = held
                self._held_bytes += n
                self._c["accepted"] += 1
                if (
                    held >= self._wake_events
                    or self._held_bytes + EVENT_OVERHEAD * held >= self._wake_weight
                ):
                    self._wake_events = self._wake_weight = _NEVER
                    self._cond.notify()
                if self._thread is None:
                    self._start_thread()
        except Exception:  # noqa: BLE001 -- never raise into the caller
            self._c["errors"] += 1

    def _cut(self, line: str, size: int) -> tuple[str, int]:
        """A valid JSON record under the event limit, marked with the original size."""
        self._c["cut"] += 1
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

    def _start_thread(self) -> None:
        thread = threading.Thread(target=self._run, name="safelog-cloudwatch", daemon=True)
        thread.start()
        self._thread = thread

    # -- the shipper thread ----------------------------------------------------

    def _run(self) -> None:
        ident = threading.get_ident()
        self._thread_ident = ident
        internal_threads.add(ident)
        try:
            # Found now, while configure()'s state is current: shutdown()
            # clears it before closing the sinks.
            self._find_dispatcher()
            # Import the SDK now, not at the first send, which may be at
            # interpreter exit. A fork waits for this import only: the client
            # factory may be slow (STS assume-role) and must not hold it up.
            with contextlib.suppress(Exception):
                _import_sdk()
            self._ready.set()
            # Build the client now too (no network I/O with the default one).
            with contextlib.suppress(Exception):
                self._get_transport()
            self._ship()
        except Exception:  # noqa: BLE001 -- the thread must end quietly; counted
            self._c["errors"] += 1
        finally:
            self._ready.set()
            internal_threads.discard(ident)
            with self._cond:
                if self._thread is not None and self._thread.ident == ident:
                    self._thread = None
                self._cond.notify_all()

    def _ship(self) -> None:
        """
        The shipping loop. An unexpected error never loses what the thread
        holds: it is counted, the records go back to the head of the queue
        and shipping goes on after a backoff; a batch that fails this way
        `_MAX_INTERNAL_FAILURES` times in a row is counted as invalid and
        reported, so it cannot block the queue.
        """
        pending: deque[tuple[int, str, int]] = deque()
        batch: list[tuple[int, str, int]] = []
        failures = 0
        while True:
            try:
                with self._cond:
                    if not self._wait_for_batch():
                        return
                    incoming = self._queue
                    self._queue = deque()
                pending.extend(incoming)
                self._take_batch(pending, batch)
                if batch:
                    self._send(batch)
                batch.clear()
                failures = 0
                self._maybe_report(force=False)
            except Exception:  # noqa: BLE001 -- counted; the records are kept
                self._c["errors"] += 1
                failures += 1
                dropped = bool(batch) and failures >= _MAX_INTERNAL_FAILURES
                if dropped:
                    failures = 0
                    self._finish(batch, delivered=0, invalid=len(batch))
                    batch = []
                self._requeue(batch, pending)
                batch = []
                pending = deque()
                try:
                    if dropped:
                        self._maybe_report(force=True)
                    self._backoff(max(failures, 1))
                except Exception:  # noqa: BLE001
                    self._kick.wait(_BACKOFF_BASE)
                    self._kick.clear()

    def _requeue(
        self, batch: list[tuple[int, str, int]], pending: deque[tuple[int, str, int]]
    ) -> None:
        """Put what the thread holds back at the head of the queue, in order."""
        with self._cond:
            if self._abandon:
                # close() already counted everything held as lost at exit.
                return
            queue = deque(sorted(batch, key=lambda item: item[0]))
            queue.extend(pending)
            queue.extend(self._queue)
            self._queue = queue

    def _wait_for_batch(self) -> bool:
        """With the lock held: wait until a batch is due; False when done."""
        first_seen: float | None = None
        while True:
            if self._abandon or self._pid != os.getpid():
                return False
            held = self._held_events
            if held == 0:
                if self._closing:
                    return False
                first_seen = None
                self._wake_events, self._wake_weight = 1, _NEVER
                self._cond.wait(_REPORT_INTERVAL)
                if self._held_events == 0 and self._reported != self._dropped_total():
                    return True
                continue
            now = time.monotonic()
            if first_seen is None:
                first_seen = now
            due = first_seen + self.config.send_interval
            if (
                self._closing
                or self._flush_waiters
                or held >= MAX_BATCH_EVENTS
                or self._held_bytes + EVENT_OVERHEAD * held >= MAX_BATCH_BYTES
                or now >= due
            ):
                self._wake_events = self._wake_weight = _NEVER
                return True
            self._wake_events, self._wake_weight = MAX_BATCH_EVENTS, MAX_BATCH_BYTES
            self._cond.wait(due - now)

    def _take_batch(
        self, pending: deque[tuple[int, str, int]], batch: list[tuple[int, str, int]]
    ) -> None:
        """Move the next batch from *pending* into the empty list *batch*."""
        weight = 0
        lo = hi = 0
        while pending and len(batch) < MAX_BATCH_EVENTS:
            item = pending[0]
            ts, _line, n = item
            w = n + EVENT_OVERHEAD
            if w > MAX_BATCH_BYTES:
                # Cannot happen (`write` cuts such records); if it does, the
                # record is counted and reported instead of blocking the queue.
                pending.popleft()
                self._finish([item], delivered=0, invalid=1)
                self._maybe_report(force=True)
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
        # Chronological within the batch; stable, so same-millisecond lines
        # keep their order.
        batch.sort(key=lambda item: item[0])

    def _get_transport(self) -> Any:
        if self._transport is None:
            if self._client is None:
                with self._building:
                    self._client = self.config.make_client()
            self._transport = _get_transport_class()(
                self._client, self.config.log_group, self.stream_name, self.config.retention_days
            )
        return self._transport

    def _send(self, batch: list[tuple[int, str, int]]) -> None:
        events = [{"timestamp": ts, "message": line} for ts, line, _n in batch]
        weight = sum(n for _ts, _line, n in batch) + EVENT_OVERHEAD * len(batch)
        attempt = 0
        missing = 0
        while not self._abandon:
            kind = _OK
            response: Any = None
            try:
                transport = self._get_transport()
                self._c["put_calls"] += 1
                response = transport.put(events)
            except Exception as exc:  # noqa: BLE001 -- classified by type/code only
                kind = _classify(exc)
            if kind == _MISSING and missing < 3:
                missing += 1
                try:
                    self._transport.ensure_stream()
                    continue
                except Exception:  # noqa: BLE001
                    self._c["setup_errors"] += 1
                    kind = _RETRY
            elif kind == _MISSING:
                kind = _RETRY
            if kind == _INVALID:
                self._finish(batch, delivered=0, invalid=len(batch))
                return
            if kind == _RETRY:
                attempt += 1
                self._c["retries"] += 1
                self._backoff(attempt)
                continue
            rejected = _count_rejected(response, len(events))
            self.batch_weights.append((len(batch), weight))
            # Setup first: once a flush() sees the batch done, the group is
            # fully configured (retention is one call per process).
            self._apply_retention()
            self._finish(batch, delivered=len(batch) - rejected, rejected=rejected)
            return

    def _apply_retention(self) -> None:
        transport = self._transport
        if transport is None or transport.retention_applied:
            return
        try:
            transport.apply_retention()
        except Exception:  # noqa: BLE001 -- retention is best effort, counted
            self._c["setup_errors"] += 1

    def _backoff(self, attempt: int) -> None:
        cap = _BACKOFF_CAP_CLOSING if self._closing else _BACKOFF_CAP
        # Full jitter (AWS architecture blog): spreads retries of many
        # processes recovering from the same outage.
        exponent = min(max(attempt, 0), _BACKOFF_MAX_EXPONENT)
        delay = random.uniform(0, min(cap, _BACKOFF_BASE * 2**exponent))  # noqa: S311
        if len(self.backoff_delays) < 1000:
            self.backoff_delays.append(delay)
        # During an outage, losses (queue overflow) are reported as they
        # happen, at most once per report interval.
        self._maybe_report(force=False)
        self._kick.wait(delay)
        self._kick.clear()

    def _finish(
        self,
        batch: list[tuple[int, str, int]],
        *,
        delivered: int,
        rejected: int = 0,
        invalid: int = 0,
    ) -> None:
        with self._cond:
            if self._abandon:
                # close() already counted these as lost at exit.
                return
            self._held_events -= len(batch)
            self._held_bytes -= sum(n for _ts, _line, n in batch)
            c = self._c
            c["done"] += len(batch)
            c["delivered"] += delivered
            c["dropped_rejected"] += rejected
            c["dropped_invalid"] += invalid
            self._cond.notify_all()

    # -- loss reports ----------------------------------------------------------

    def _dropped_total(self) -> int:
        c = self._c
        return (
            c["dropped_overflow"]
            + c["dropped_rejected"]
            + c["dropped_invalid"]
            + c["dropped_exit"]
            + c["dropped_closed"]
        )

    def _maybe_report(self, *, force: bool) -> bool:
        with self._lock:
            total = self._dropped_total()
            now = time.monotonic()
            if total == self._reported:
                return False
            if not force and now - self._last_report < _REPORT_INTERVAL and self._reported:
                return False
            new = total - self._reported
            self._reported = total
            self._last_report = now
            self._c["loss_reports"] += 1
            record: dict[str, Any] = {"timestamp": None}
            add_timestamp(None, "warning", record)
            record.update(
                level="warning", logger=_LOGGER, event=LOSS_EVENT, **self._meta, pid=os.getpid()
            )
            record["cloudwatch_dropped_new"] = new
            record.update((f"cloudwatch_{k}", v) for k, v in self._c.items() if k != "done")
            record["cloudwatch_dropped"] = total
            line = render_json_line(record)
            self._report_line = line
        self._emit_report(line)
        return True

    def _find_dispatcher(self) -> Dispatcher | None:
        if self._dispatcher is not None:
            return self._dispatcher
        from . import _state

        state = _state.current()
        if state is not None and any(s is self for s in state.chain.dispatcher.sinks):
            self._dispatcher = state.chain.dispatcher
            return self._dispatcher
        return None

    def _emit_report(self, line: str) -> None:
        try:
            dispatcher = self._find_dispatcher()
            if dispatcher is not None:
                dispatcher.emit(line)
                if any(type(s) is ConsoleSink for s in dispatcher.sinks):
                    return
            else:
                self.write(line)
            # A loss is never silent: with no console sink, say it on stderr.
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001
            self._c["errors"] += 1

    # -- flush, close, stats ---------------------------------------------------

    def flush(self, timeout: float | None = None) -> None:
        """
        Wait (at most *timeout* s) until every line accepted so far is sent
        or counted; a loss found meanwhile is reported and its record flushed
        too.
        """
        deadline = time.monotonic() + (_DEFAULT_TIMEOUT if timeout is None else max(timeout, 0))
        self._maybe_report(force=True)
        self._flush(deadline - time.monotonic())
        if self._maybe_report(force=True):
            self._flush(deadline - time.monotonic())

    def _flush(self, timeout: float | None) -> None:
        deadline = time.monotonic() + (_DEFAULT_TIMEOUT if timeout is None else max(timeout, 0))
        if self._pid != os.getpid():
            self._after_fork_in_child()
        if threading.get_ident() == self._thread_ident:
            return
        with self._cond:
            target = self._c["accepted"]
            if self._c["done"] >= target:
                return
            if self._thread is None and not self._closed:
                self._start_thread()
            self._flush_waiters += 1
            self._cond.notify_all()
            self._kick.set()
            try:
                while self._c["done"] < target and not self._abandon:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            finally:
                self._flush_waiters -= 1

    def close(self, timeout: float | None = None) -> None:
        """
        Flush within *timeout*, then stop. Lines still unsent at the deadline
        are counted as ``dropped_exit`` and reported in one record.
        """
        with self._cond:
            if self._closed:
                return
            self._closing = True
            self._cond.notify_all()
        self._kick.set()
        self._flush(timeout)
        with self._cond:
            lost = self._c["accepted"] - self._c["done"]
            if lost > 0:
                self._c["dropped_exit"] += lost
                self._c["done"] += lost
                self._abandon = True
                self._queue.clear()
                self._held_events = self._held_bytes = 0
            self._closed = True
            self._cond.notify_all()
        self._kick.set()
        _live.discard(self)
        if self._sigterm_installed and not any(s.config.handle_sigterm for s in _live):
            _restore_sigterm()
        self._maybe_report(force=True)

    def stats(self) -> dict[str, int]:
        """Counters, metadata only (``cloudwatch_*``)."""
        with self._lock:
            out = {f"cloudwatch_{k}": v for k, v in self._c.items() if k != "done"}
            out["cloudwatch_dropped"] = self._dropped_total()
            out["cloudwatch_queued"] = self._held_events
            out["cloudwatch_queued_bytes"] = self._held_bytes
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
            client = self.config.make_client()
            deadline = time.monotonic() + timeout
            events: list[tuple[int, str]] = []
            kwargs: dict[str, Any] = {"logGroupName": self.config.log_group}
            while True:
                if "nextToken" in kwargs and time.monotonic() >= deadline:
                    msg = "read_back: CloudWatch did not answer within the timeout"
                    raise TimeoutError(msg)
                try:
                    page = client.filter_log_events(**kwargs)
                except Exception as exc:
                    if _classify(exc) == _MISSING:
                        return []
                    raise
                events.extend((e["timestamp"], e["message"]) for e in page.get("events", ()))
                token = page.get("nextToken")
                if not token or token == kwargs.get("nextToken"):
                    break
                kwargs["nextToken"] = token
            events.sort(key=lambda e: e[0])
            return [message for _ts, message in events]
        finally:
            if added:
                internal_threads.discard(ident)

    # -- fork ----------------------------------------------------------------

    def _before_fork(self) -> None:
        if self._thread is not None and threading.get_ident() != self._thread_ident:
            self._ready.wait(10)
            # Bounded: a user factory slower than this (an STS call) delays
            # the fork no longer; only a default-speed build is waited out.
            self._building_held = self._building.acquire(timeout=_FORK_BUILD_WAIT)
        self._lock.acquire()
        mp_util = sys.modules.get("multiprocessing.util")
        if mp_util is not None and not self._mp_registered:
            self._mp_registered = True
            mp_util.register_after_fork(self, _mp_after_fork)

    def _after_fork_in_parent(self) -> None:
        self._lock.release()
        if self._building_held:
            self._building_held = False
            self._building.release()

    def _after_fork_in_child(self) -> None:
        # The parent's queue is the parent's to ship; the child starts empty
        # with its own lock, thread, stream and connections.
        old_client = self._client
        old_ident = self._thread_ident
        closed = self._closed
        self._init_process_state()
        self._closed = closed
        if old_ident is not None:
            internal_threads.discard(old_ident)
        if old_client is not None:
            # Closing its sockets here could disturb the parent's: keep it.
            self._stale_clients.append(old_client)
            if old_client is self.config.client:
                _fresh_connections(old_client)
                self._client = old_client


def _fresh_connections(client: Any) -> None:
    """Give an injected client new connection pools in a forked child."""
    with contextlib.suppress(Exception):
        from urllib3 import PoolManager

        http = client._endpoint.http_session
        http._manager = PoolManager(**http._get_pool_manager_kwargs())
        http._proxy_managers = {}


def _mp_after_fork(sink: CloudWatchSink) -> None:
    """In a ``multiprocessing`` child: flush before its ``os._exit``."""
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None:
        mp_util.Finalize(sink, _child_exit, args=(weakref.ref(sink),), exitpriority=100)


def _child_exit(ref: weakref.ref[CloudWatchSink]) -> None:
    sink = ref()
    if sink is None:
        return
    from . import _config, _state

    state = _state.current()
    if state is not None and any(s is sink for s in state.chain.dispatcher.sinks):
        _config.shutdown()
    else:
        sink.close(_exit_timeout())


def _before_fork() -> None:
    for sink in list(_live):
        sink._before_fork()


def _after_fork_in_parent() -> None:
    for sink in list(_live):
        sink._after_fork_in_parent()


def _after_fork_in_child() -> None:
    for sink in list(_live):
        sink._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )


# -- exit ------------------------------------------------------------------


def _close_all() -> None:
    timeout = _exit_timeout()
    for sink in list(_live):
        sink.close(timeout)


atexit.register(_close_all)


def _on_sigterm(signum: int, frame: object) -> None:
    """Flush within the deadline, then die by SIGTERM as the default would."""
    from . import _config

    with contextlib.suppress(Exception):
        _config.shutdown()
    with contextlib.suppress(Exception):
        _close_all()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _install_sigterm() -> bool:
    """Install `_on_sigterm` only where SIGTERM still has its default action."""
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        current = signal.getsignal(signal.SIGTERM)
        if current is _on_sigterm:
            return True
        if current is not signal.SIG_DFL:
            # The service (or its server) handles SIGTERM: theirs wins.
            return False
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):
        return False
    return True


def _restore_sigterm() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    with contextlib.suppress(ValueError, OSError):
        if signal.getsignal(signal.SIGTERM) is _on_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
