"""
Reading a log group: the ``filter_log_events`` engine, the checkpoint and
the error translation shared with the Insights engine.

The window is cut into slices; each slice is read in batches of up to 100
streams, ``workers`` batches at a time (bounded concurrency), one page in
memory per worker. A slice that is done is appended to the checkpoint file
(if one is given), so an interrupted run resumes where it stopped. Memory is
bounded by ``workers x one page`` plus the findings kept: it does not grow
with the size of the group.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time

from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._checker import RecordChecker
from ._report import AuditReport, CallCounter, Finding, Window


__all__ = [
    "AuditError",
    "Checkpoint",
    "ScanOptions",
    "call_api",
    "error_code",
    "list_streams",
    "scan_group",
]

# Errors that mean "slow down" (botocore retries these too, in its
# standard mode; these are the ones that still come through).
_THROTTLE_CODES = frozenset(
    {"ThrottlingException", "LimitExceededException", "TooManyRequestsException", "Throttling"}
)
_DENIED_CODES = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "UnauthorizedOperation",
    }
)


_CODE = re.compile(r"[A-Za-z][A-Za-z0-9.]{0,63}\Z")


class AuditError(Exception):
    """The audit could not run (exit 2). The message is fixed text, never a value."""


@dataclass(frozen=True)
class ScanOptions:
    """How to read: concurrency, slicing, retries, limits."""

    workers: int = 4
    slice_ms: int = 3_600_000
    page_limit: int = 10_000
    max_attempts: int = 8
    base_delay: float = 0.2
    max_delay: float = 20.0
    max_findings: int = 100_000


def error_code(exc: BaseException) -> str | None:
    """The API's error code of a botocore ``ClientError`` (None for others)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return code if isinstance(code, str) else None
    return None


def translate(exc: BaseException) -> AuditError:
    """A botocore error as an `AuditError` with a fixed message (never the error's text)."""
    code = error_code(exc)
    name = type(exc).__name__
    if code == "ResourceNotFoundException":
        return AuditError("the log group does not exist (or is in another region or account)")
    if code in _DENIED_CODES:
        return AuditError(
            "access denied: the credentials need logs:DescribeLogStreams and "
            "logs:FilterLogEvents (and logs:StartQuery, logs:GetQueryResults for Insights)"
        )
    if code in _THROTTLE_CODES:
        return AuditError(
            "CloudWatch Logs kept throttling after retries; re-run with the same "
            "--checkpoint FILE to resume"
        )
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return AuditError("no AWS credentials found (environment, profile or role)")
    if name == "NoRegionError":
        return AuditError("no AWS region: pass --region or set AWS_DEFAULT_REGION")
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        return AuditError("cannot reach the CloudWatch Logs endpoint")
    if code is not None and _CODE.match(code):
        # An identifier from the API's model, not a message; anything else
        # an endpoint sends back is not repeated.
        return AuditError(f"CloudWatch Logs refused the request ({code})")
    if code is not None:
        return AuditError("CloudWatch Logs refused the request")
    return AuditError(f"reading the log group failed ({name})")


def call_api(
    counter: CallCounter,
    opts: ScanOptions,
    operation: str,
    fn: Callable[..., Any],
    **kwargs: Any,
) -> Any:
    """Call *fn*, counting it and backing off (exponential, jittered) on throttling."""
    for attempt in range(opts.max_attempts):
        counter.call(operation)
        try:
            return fn(**kwargs)
        except Exception as exc:
            if error_code(exc) not in _THROTTLE_CODES or attempt + 1 == opts.max_attempts:
                raise
            counter.throttle()
            delay = min(opts.max_delay, opts.base_delay * 2**attempt)
            time.sleep(delay * (0.5 + random.random() / 2))  # noqa: S311 -- jitter, not crypto
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class Stream:
    name: str
    first: int | None
    last: int | None

    def may_hold(self, window: Window) -> bool:
        # firstEventTimestamp is set once; lastEventTimestamp can lag behind
        # by up to an hour in CloudWatch, so it is trusted only with margin.
        if self.first is not None and self.first >= window.end:
            return False
        return not (self.last is not None and self.last + 3_600_000 < window.start)


def list_streams(client: Any, group: str, counter: CallCounter, opts: ScanOptions) -> list[Stream]:
    """Every stream of *group* (names and first/last event times)."""
    out: list[Stream] = []
    kwargs: dict[str, Any] = {"logGroupName": group}
    while True:
        page = call_api(counter, opts, "DescribeLogStreams", client.describe_log_streams, **kwargs)
        out.extend(
            Stream(s["logStreamName"], s.get("firstEventTimestamp"), s.get("lastEventTimestamp"))
            for s in page.get("logStreams", [])
        )
        token = page.get("nextToken")
        if not token or not page.get("logStreams"):
            return out
        kwargs["nextToken"] = token


class Checkpoint:
    """
    Completed slices of one audit, one JSON line each, so a run can resume.

    The file holds the group, the window slice, the count scanned and the
    findings (stream, timestamp, rule): the same metadata as the report,
    never a stored value. A checkpoint for another group or policy is
    refused rather than mixed in.
    """

    def __init__(self, path: str | os.PathLike[str], identity: dict[str, Any]) -> None:
        self.path = Path(path)
        self.identity = identity
        self.done: dict[tuple[int, int], tuple[int, list[Finding]]] = {}
        self._lock = threading.Lock()
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
            head = json.loads(lines[0]) if lines else None
        except (OSError, ValueError, UnicodeDecodeError):
            raise AuditError("the checkpoint file cannot be read") from None
        if head != {"checkpoint": self.identity}:
            raise AuditError(
                "the checkpoint file belongs to another group, window or policy; "
                "remove it or pass another --checkpoint"
            )
        for line in lines[1:]:
            try:
                entry = json.loads(line)
                key = (int(entry["start"]), int(entry["end"]))
                findings = [Finding(int(t), str(s), str(r)) for t, s, r in entry["findings"]]
                self.done[key] = (int(entry["scanned"]), findings)
            except (ValueError, KeyError, TypeError):
                # A line cut by a crash mid-write: that slice is read again.
                continue

    def record(self, window: Window, scanned: int, findings: list[Finding]) -> None:
        with self._lock:
            new = not self.path.exists()
            with self.path.open("a", encoding="utf-8") as fh:
                if new:
                    fh.write(json.dumps({"checkpoint": self.identity}) + "\n")
                entry = {
                    "start": window.start,
                    "end": window.end,
                    "scanned": scanned,
                    "findings": [[f.timestamp, f.stream, f.rule] for f in findings],
                }
                fh.write(json.dumps(entry) + "\n")


#: The most stream names one FilterLogEvents call takes.
_STREAMS_PER_CALL = 100


def _events(  # noqa: PLR0917 -- private
    client: Any,
    group: str,
    streams: list[str],
    window: Window,
    counter: CallCounter,
    opts: ScanOptions,
) -> Iterator[list[dict[str, Any]]]:
    kwargs: dict[str, Any] = {
        "logGroupName": group,
        "logStreamNames": streams,
        "startTime": window.start,
        "endTime": window.end - 1,  # endTime is inclusive in the API
        "limit": opts.page_limit,
    }
    while True:
        page = call_api(counter, opts, "FilterLogEvents", client.filter_log_events, **kwargs)
        yield page.get("events", [])
        token = page.get("nextToken")
        if not token or token == kwargs.get("nextToken"):
            return
        kwargs["nextToken"] = token


class _Slice:
    """One slice in progress: its units still running and what they found."""

    def __init__(self, window: Window, units: int) -> None:
        self.window = window
        self.pending = units
        self.scanned = 0
        self.findings: list[Finding] = []


def scan_group(
    client: Any,
    group: str,
    window: Window,
    checker: RecordChecker,
    report: AuditReport,
    *,
    opts: ScanOptions | None = None,
    checkpoint: Checkpoint | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> None:
    """
    Read every record of *group* in *window* and add what is found to
    *report* (scanned count, findings, calls). Raises `AuditError`.

    The unit of work is a slice and a batch of its streams (at most 100,
    one FilterLogEvents sequence); batches are sized so that the workers
    share even a single slice, and so that a slice costs about ``workers``
    call sequences, not one per stream (FilterLogEvents has a low
    per-account rate quota).
    """
    opts = opts or ScanOptions()
    counter = CallCounter()
    started = time.monotonic()
    workers = max(1, opts.workers)
    lock = threading.Lock()
    try:
        streams = list_streams(client, group, counter, opts)
        slices = window.slices(opts.slice_ms)
        done = 0

        def keep(findings: list[Finding]) -> None:
            for f in findings:
                if len(report.findings) < opts.max_findings:
                    report.findings.append(f)
                else:
                    report.overflow[f.rule] += 1

        def finish(state: _Slice) -> None:
            # Called under the lock when the slice's last unit is done.
            nonlocal done
            state.findings.sort()
            keep(state.findings)
            if checkpoint is not None:
                checkpoint.record(state.window, state.scanned, state.findings)
            done += 1
            if progress is not None:
                progress(done, len(slices), report.scanned)

        def unit(state: _Slice, names: list[str]) -> None:
            for events in _events(client, group, names, state.window, counter, opts):
                found: list[Finding] = []
                for ev in events:
                    message = ev.get("message")
                    codes = checker.check(message if type(message) is str else "")
                    if codes:
                        ts = ev.get("timestamp")
                        stamp = ts if type(ts) is int else 0
                        name = ev.get("logStreamName")
                        stream = name if type(name) is str else ""
                        found.extend(Finding(stamp, stream, c) for c in codes)
                with lock:
                    state.scanned += len(events)
                    state.findings.extend(found)
                    report.scanned += len(events)
                    if progress is not None:
                        progress(done, len(slices), report.scanned)
            with lock:
                state.pending -= 1
                if state.pending == 0:
                    finish(state)

        pool = ThreadPoolExecutor(max_workers=workers)
        futures = []
        failed: BaseException | None = None
        try:
            for piece in slices:
                key = (piece.start, piece.end)
                if checkpoint is not None and key in checkpoint.done:
                    scanned, findings = checkpoint.done[key]
                    with lock:
                        report.scanned += scanned
                        report.resumed_slices += 1
                        keep(findings)
                        done += 1
                    continue
                active = [s.name for s in streams if s.may_hold(piece)]
                size = min(_STREAMS_PER_CALL, max(1, -(-len(active) // workers)))
                batches = [active[i : i + size] for i in range(0, len(active), size)]
                state = _Slice(piece, len(batches))
                if not batches:
                    with lock:
                        finish(state)
                    continue
                futures += [pool.submit(unit, state, names) for names in batches]
            finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((f.exception() for f in finished if f.exception() is not None), None)
        finally:
            # On a failure, units not started are dropped; running ones end.
            pool.shutdown(wait=True, cancel_futures=True)
        if failed is not None:
            raise failed  # noqa: TRY301 -- translated below like any failure
    except AuditError:
        raise
    except Exception as exc:  # noqa: BLE001 -- any failure becomes exit 2, never a traceback
        raise translate(exc) from None
    finally:
        report.elapsed += time.monotonic() - started
        for op, n in counter.calls.items():
            report.calls[op] = report.calls.get(op, 0) + n
        report.throttled += counter.throttled
    report.findings.sort()
