"""
Audit throughput and memory: ``python benchmarks/bench_audit.py [RECORDS] [STREAMS]``.

Seeds a log group in a moto server on 127.0.0.1 (its own process) with
RECORDS safelog-shaped records (default 1,000,000) across STREAMS streams
(default 100), one in 10,000 planted as non-conforming, in large
put_log_events batches; then runs the scan engine over it from this process
and prints:

- records/s of the whole audit (HTTP, botocore, JSON, rules), beside the
  rules alone on the same records (one core: the CPU bound of either engine);
- the peak memory the audit allocated (tracemalloc, this process only: the
  server's memory is moto's), which must not grow with the group: run it at
  two sizes and compare.
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc


_BATCH_BYTES = 900_000  # under put_log_events' 1 MB


def _record(i: int) -> dict[str, object]:
    return {
        "timestamp": "2026-11-24T16:00:00.000Z",
        "level": "info",
        "logger": "svc.x",
        "event": "export.finished",
        "module": "svc.x",
        "function": "run",
        "line": 10,
        "service": "svc",
        "host": "h",
        "pid": 1,
        "status": "ok",
        "page_count": i,
        "request_id": f"req-{i}",
    }


def _seed(client: object, group: str, streams: int, per: int, base: int) -> int:
    planted = 0
    for s in range(streams):
        name = f"svc/host/{s}"
        client.create_log_stream(logGroupName=group, logStreamName=name)  # type: ignore[attr-defined]
        events: list[dict[str, object]] = []
        size = 0
        for i in range(per):
            rec = _record(i)
            if (s * per + i) % 10_000 == 1234:
                rec["note"] = "planted"
                planted += 1
            message = json.dumps(rec, separators=(",", ":"))
            if size + len(message) + 26 > _BATCH_BYTES or len(events) == 10_000:
                client.put_log_events(  # type: ignore[attr-defined]
                    logGroupName=group, logStreamName=name, logEvents=events
                )
                events, size = [], 0
            events.append({"timestamp": base + i, "message": message})
            size += len(message) + 26
        if events:
            client.put_log_events(  # type: ignore[attr-defined]
                logGroupName=group, logStreamName=name, logEvents=events
            )
    return planted


def main() -> None:
    import boto3

    from safelog._embedded import EmbeddedMoto
    from safelog.audit import RecordChecker, ScanOptions, Window, audit_group
    from safelog.policy import Enum, FieldPolicy, Id, Int

    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    streams = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    per = total // streams
    policy = FieldPolicy(
        {"status": Enum("ok", "failed"), "page_count": Int(min=0), "request_id": Id()}
    )

    sample = [json.dumps(_record(i), separators=(",", ":")) for i in range(50_000)]
    checker = RecordChecker(policy)
    t = time.perf_counter()
    for message in sample:
        checker.check(message)
    rules_rate = len(sample) / (time.perf_counter() - t)
    del sample

    with EmbeddedMoto() as server:
        client = boto3.client(
            "logs",
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_log_group(logGroupName="/bench")
        base = int(time.time() * 1000) - 3_600_000
        t = time.perf_counter()
        planted = _seed(client, "/bench", streams, per, base)
        seeded = time.perf_counter() - t
        tracemalloc.start()
        t = time.perf_counter()
        report = audit_group(
            client,
            "/bench",
            Window(base, base + per + 1),
            policy,
            engine="scan",
            opts=ScanOptions(workers=4),
        )
        elapsed = time.perf_counter() - t
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(f"records: {report.scanned} of {per * streams} in {streams} streams")
    print(f"seeded in {seeded:.0f}s")
    print(f"findings: {len(report.findings)} (planted: {planted})")
    print(f"audit: {elapsed:.1f}s, {report.scanned / elapsed:,.0f} records/s (moto over HTTP)")
    print(f"rules alone: {rules_rate:,.0f} records/s (one core)")
    print(f"peak memory allocated by the audit: {peak / 1e6:.1f} MB")
    print(f"API calls: {dict(report.calls)}")


if __name__ == "__main__":
    main()
