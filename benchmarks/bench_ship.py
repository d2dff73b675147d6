"""
Shipping, side by side in one run: safelog's CloudWatch sink vs bare
watchtower 3.4.0, both to the same embedded moto server on 127.0.0.1.

For 20,000 events: caller cost per event (p50, p99, max), end-to-end events/s
(first call until everything is delivered), PutLogEvents calls, events
CloudWatch stored; then safelog's caller cost with the endpoint down, and
batch fill against the limit that binds.

Then the two paths safelog offers, under faults, at a steady rate: the
default sink (``safelog.CloudWatch``) and safelog's chain in front of a
watchtower handler (``safelog.cloudwatch.Watchtower``). Each run logs for
3 x --fault-seconds: healthy, fault, healthy. Faults: an outage (a TCP gate
in front of moto refuses connections; moto keeps its state) and throttling
(every PutLogEvents answered ThrottlingException). Reported: emitted,
delivered (stored in moto), counted drops, and for the default sink the time
from the endpoint's return to the next delivery.

    .venv/bin/python benchmarks/bench_ship.py [--events N] [--fault-seconds S]

Targets: end-to-end throughput >= bare watchtower; caller p99 with
CloudWatch down <= 1.5x healthy p99; batch fill >= 95% of the binding limit;
default sink under faults: delivered + counted drops = emitted, recovery
within about a second.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import logging
import os
import socket
import statistics
import time
import uuid

from typing import Any

from _faults import CloudWatchLimits, TcpGate, logs_client

import safelog

from safelog import _config
from safelog import cloudwatch as _shipper
from safelog._embedded import EmbeddedMoto


os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

# About the size of a safelog record, so both ship the same bytes.
MESSAGE = (
    '{"timestamp":"2026-01-01T00:00:00.000Z","level":"info","logger":"bench","event":'
    '"page.exported","module":"bench_ship","function":"run","line":1,"service":"bench",'
    '"host":"vm","pid":1,"page_id":"pg_123456"}'
)


class Counter:
    def __init__(self) -> None:
        self.puts = 0

    def __call__(self, request: Any, **_kw: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"")
        if (target.decode() if isinstance(target, bytes) else target).endswith("PutLogEvents"):
            self.puts += 1


def client(endpoint: str, counter: Counter | None = None) -> Any:
    import boto3

    c = boto3.session.Session().client("logs", region_name="us-east-1", endpoint_url=endpoint)
    if counter is not None:
        c.meta.events.register("before-send.cloudwatch-logs", counter)
    return c


def stored(endpoint: str, group: str) -> int:
    c = client(endpoint)
    n = 0
    kwargs: dict[str, Any] = {"logGroupName": group}
    while True:
        page = c.filter_log_events(**kwargs)
        n += len(page["events"])
        if not page.get("nextToken"):
            return n
        kwargs["nextToken"] = page["nextToken"]


def pct(samples: list[int]) -> tuple[float, float, float]:
    s = sorted(samples)
    return (
        s[len(s) // 2] / 1000,
        s[min(len(s) - 1, int(len(s) * 0.99))] / 1000,
        s[-1] / 1000,
    )


def timed_calls(fn: Any, n: int) -> tuple[list[int], float]:
    gc.collect()
    clock = time.perf_counter_ns
    samples = [0] * n
    start = time.perf_counter()
    for i in range(n):
        t0 = clock()
        fn()
        samples[i] = clock() - t0
    return samples, start


def bench_watchtower(endpoint: str, n: int) -> dict[str, Any]:
    import watchtower

    group = f"/bench/wt-{uuid.uuid4().hex[:8]}"
    counter = Counter()
    handler = watchtower.CloudWatchLogHandler(
        log_group_name=group, boto3_client=client(endpoint, counter)
    )
    logger = logging.getLogger("bench.watchtower")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    samples, start = timed_calls(lambda: logger.info(MESSAGE), n)
    handler.flush()
    elapsed = time.perf_counter() - start
    handler.close()
    logger.removeHandler(handler)
    return {
        "caller": pct(samples),
        "eps": n / elapsed,
        "elapsed": elapsed,
        "puts": counter.puts,
        "stored": stored(endpoint, group),
    }


def bench_safelog(endpoint: str, n: int, *, write_only: bool) -> dict[str, Any]:
    group = f"/bench/sl-{uuid.uuid4().hex[:8]}"
    counter = Counter()
    cw = safelog.CloudWatch(log_group=group, client=lambda: client(endpoint, counter))
    safelog.configure(
        service="bench", console=False, fields={"page_id": safelog.Id()}, cloudwatch=cw
    )
    sink = next(
        s
        for s in _config.current_state().chain.dispatcher.sinks
        if isinstance(s, _shipper.CloudWatchSink)
    )
    log = safelog.get_logger("bench")
    if write_only:
        samples, start = timed_calls(lambda: sink.write(MESSAGE), n)
    else:
        samples, start = timed_calls(lambda: log.info("page.exported", page_id="pg_123456"), n)
    sink.flush(120)
    elapsed = time.perf_counter() - start
    stats = sink.stats()
    batches = list(sink.batch_weights)
    safelog.shutdown()
    return {
        "caller": pct(samples),
        "eps": n / elapsed,
        "elapsed": elapsed,
        "puts": counter.puts,
        "stored": stored(endpoint, group),
        "dropped": stats["cloudwatch_dropped"],
        "batches": batches,
    }


def bench_down(n: int, *, write_only: bool) -> dict[str, Any]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: connection refused
    cw = safelog.CloudWatch(
        log_group="/bench/down", endpoint_url=f"http://127.0.0.1:{port}", region="us-east-1"
    )
    # Its failure and loss records go to a console nobody reads.
    safelog.configure(
        service="bench", console=io.StringIO(), fields={"page_id": safelog.Id()}, cloudwatch=cw
    )
    sink = next(
        s
        for s in _config.current_state().chain.dispatcher.sinks
        if isinstance(s, _shipper.CloudWatchSink)
    )
    log = safelog.get_logger("bench")
    if write_only:
        samples, _ = timed_calls(lambda: sink.write(MESSAGE), n)
    else:
        samples, _ = timed_calls(lambda: log.info("page.exported", page_id="pg_123456"), n)
    retries = sink.stats()["cloudwatch_retries"]
    safelog.shutdown(timeout=0.5)
    return {"caller": pct(samples), "retries": retries}


def configure(cw: safelog.CloudWatch) -> Any:
    fields = {"page_id": safelog.Id()}
    safelog.configure(service="bench", console=False, fields=fields, cloudwatch=cw)
    sinks = _config.current_state().chain.dispatcher.sinks
    return next(s for s in sinks if isinstance(s, _shipper.CloudWatchSink))


def fill(batches: list[tuple[int, int]]) -> tuple[float, float, str]:
    """Fill of the binding limit: all batches but the last (flushed partial)."""
    full = batches[:-1] or batches
    fills = [max(n / _shipper.MAX_BATCH_EVENTS, w / _shipper.MAX_BATCH_BYTES) for n, w in full]
    n, w = full[0]
    binding = "bytes" if w / _shipper.MAX_BATCH_BYTES >= n / _shipper.MAX_BATCH_EVENTS else "events"
    return min(fills), statistics.mean(fills), binding


def row(name: str, r: dict[str, Any]) -> str:
    p50, p99, mx = r["caller"]
    extra = ""
    if "eps" in r:
        extra = f" {r['eps']:>10,.0f} {r['puts']:>6} {r['stored']:>7}"
    return f"{name:<38} {p50:>8.2f} {p99:>8.2f} {mx:>9.1f}{extra}"


FAULT_RATE = 2000  # events per second, steady


def fault_run(moto_port: int, path: str, fault: str, seconds: float) -> dict[str, Any]:
    """One path under one fault: healthy, fault, healthy; then count what arrived."""
    gate = TcpGate(moto_port)
    limits = CloudWatchLimits()
    group = f"/bench/{path}-{fault}-{uuid.uuid4().hex[:6]}"
    endpoint = gate.endpoint_url
    if path == "default":
        factory: Any = safelog.CloudWatch(
            log_group=group, client=lambda: logs_client(endpoint, limits)
        )
    else:
        import watchtower

        handler = watchtower.CloudWatchLogHandler(
            log_group_name=group,
            boto3_client=logs_client(endpoint, limits, one_try=False),
            send_interval=1,
        )
        factory = _shipper.Watchtower(handler)
    safelog.configure(
        service="bench", console=io.StringIO(), fields={"n": safelog.Int()}, cloudwatch=factory
    )
    sink = _config.current_state().chain.dispatcher.sinks[-1]
    log = safelog.get_logger("bench")
    emitted = 0
    recovery: float | None = None
    for phase in ("healthy", "fault", "healthy"):
        if phase == "fault":
            if fault == "outage":
                gate.close()
            else:
                limits.fail(10**6, 400, "ThrottlingException")
        phase_end = time.monotonic() + seconds
        next_at = time.monotonic()
        while time.monotonic() < phase_end:
            log.info("bench.event", n=emitted)
            emitted += 1
            next_at += 1 / FAULT_RATE
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if phase == "fault":
            before = _delivered(sink)
            gate.open()
            limits.clear()
            reopened = time.monotonic()
            if before is not None:
                while _delivered(sink) == before and time.monotonic() - reopened < 30:
                    time.sleep(0.005)
                recovery = time.monotonic() - reopened
    stats = sink.stats() if hasattr(sink, "stats") else {}
    safelog.shutdown(timeout=60)
    gate.stop()
    seq = [
        r["n"]
        for r in map(json.loads, stored_messages(f"http://127.0.0.1:{moto_port}", group))
        if r.get("event") == "bench.event"
    ]
    return {
        "path": path,
        "fault": fault,
        "emitted": emitted,
        "delivered": len(set(seq)),
        "duplicates": len(seq) - len(set(seq)),
        "counted": stats.get("cloudwatch_dropped"),
        "counted_duplicates": stats.get("cloudwatch_possible_duplicates"),
        "recovery": recovery,
    }


def _delivered(sink: Any) -> int | None:
    stats = getattr(sink, "stats", None)
    return stats().get("cloudwatch_delivered") if callable(stats) else None


def stored_messages(endpoint: str, group: str) -> list[str]:
    c = client(endpoint)
    out: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": group}
    while True:
        page = c.filter_log_events(**kwargs)
        out.extend(e["message"] for e in page["events"])
        if not page.get("nextToken"):
            return out
        kwargs["nextToken"] = page["nextToken"]


def print_faults(runs: list[dict[str, Any]], seconds: float) -> None:
    print(
        f"\nUnder faults, {FAULT_RATE:,} events/s for 3 x {seconds:g} s "
        "(healthy, fault, healthy):\n"
    )
    print(f"{'path':<22} {'fault':<11} {'emitted':>8} {'delivered':>10} {'lost':>7} "
          f"{'counted':>8} {'dups':>6} {'dups counted':>13} {'recovery':>9}")  # fmt: skip
    for r in runs:
        lost = r["emitted"] - r["delivered"]
        counted = "-" if r["counted"] is None else f"{r['counted']:,}"
        dups_counted = "-" if r["counted_duplicates"] is None else f"{r['counted_duplicates']:,}"
        recovery = "-" if r["recovery"] is None else f"{r['recovery']:.2f} s"
        name = "safelog.CloudWatch" if r["path"] == "default" else "safelog -> watchtower"
        print(
            f"{name:<22} {r['fault']:<11} {r['emitted']:>8,} {r['delivered']:>10,} "
            f"{lost:>7,} {counted:>8} {r['duplicates']:>6,} {dups_counted:>13} {recovery:>9}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--fault-seconds", type=float, default=5.0)
    args = parser.parse_args()
    n = args.events
    with EmbeddedMoto() as server:
        # Warm up imports and the server once, for both.
        bench_safelog(server.endpoint_url, 200, write_only=True)
        wt = bench_watchtower(server.endpoint_url, n)
        sl_write = bench_safelog(server.endpoint_url, n, write_only=True)
        sl_full = bench_safelog(server.endpoint_url, n, write_only=False)
        runs = [
            fault_run(server.port, path, fault, args.fault_seconds)
            for fault in ("outage", "throttling")
            for path in ("default", "watchtower")
        ]
    down_write = bench_down(n, write_only=True)
    down_full = bench_down(n, write_only=False)

    print(f"\n{n:,} events to one moto server on 127.0.0.1 (us = microseconds)\n")
    head = ("p50 us", "p99 us", "max us", "events/s", "puts", "stored")
    print(
        f"{'':<38} {head[0]:>8} {head[1]:>8} {head[2]:>9} {head[3]:>10} {head[4]:>6} {head[5]:>7}"
    )
    print(row("watchtower: logger.info(msg)", wt))
    print(row("safelog: sink.write(line)", sl_write))
    print(row("safelog: log.info(...) full chain", sl_full))
    print(row("safelog down: sink.write(line)", down_write))
    print(row("safelog down: log.info(...) full chain", down_full))
    print(f"\nsafelog dropped (healthy): {sl_write['dropped']} and {sl_full['dropped']}")
    print(
        f"watchtower stored {wt['stored']:,} of {n:,}; "
        f"safelog stored {sl_write['stored']:,} and {sl_full['stored']:,}"
    )
    lo, mean, binding = fill(sl_write["batches"])
    lo2, mean2, binding2 = fill(sl_full["batches"])
    # Delivered events/s counts only what CloudWatch stored: watchtower's own
    # rate includes the events it silently drops while creating its stream.
    wt_delivered = wt["stored"] / wt["elapsed"]
    ratios = [
        ("end-to-end events/s, safelog write / watchtower", sl_write["eps"] / wt["eps"], ">= 1.0"),
        ("end-to-end events/s, safelog chain / watchtower", sl_full["eps"] / wt["eps"], ">= 1.0"),
        (
            "delivered events/s, safelog chain / watchtower",
            sl_full["stored"] / sl_full["elapsed"] / wt_delivered,
            ">= 1.0",
        ),
        (
            "caller p99 down / healthy, sink.write",
            down_write["caller"][1] / sl_write["caller"][1],
            "<= 1.5",
        ),
        (
            "caller p99 down / healthy, full chain",
            down_full["caller"][1] / sl_full["caller"][1],
            "<= 1.5",
        ),
    ]
    print("\nratios (target):")
    for label, value, target in ratios:
        print(f"  {label:<48} {value:6.2f}x  ({target})")
    print(f"  batch fill ({binding} bind), write run: min {lo:.1%} mean {mean:.1%}  (>= 95%)")
    print(f"  batch fill ({binding2} bind), chain run: min {lo2:.1%} mean {mean2:.1%}  (>= 95%)")
    print(f"  PutLogEvents calls, safelog / watchtower: {sl_write['puts']} / {wt['puts']}")
    print_faults(runs, args.fault_seconds)


if __name__ == "__main__":
    main()
