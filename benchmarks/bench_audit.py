"""
Audit throughput and memory: ``python benchmarks/bench_audit.py [RECORDS] [STREAMS]``.

Seeds a log group in moto's in-process backend (``mock_aws``: no HTTP, so
the figure is the audit's own cost plus botocore's) with RECORDS safelog-shaped
records (default 1,000,000) across STREAMS streams (default 100), one in
10,000 planted as non-conforming, then runs the scan engine over it and
prints records/s and the peak traced memory of the audit (tracemalloc),
which must not grow with the group.
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc


def main() -> None:
    import boto3

    from moto import mock_aws

    from safelog.audit import RecordChecker, ScanOptions, Window
    from safelog.audit._report import AuditReport
    from safelog.audit._scan import scan_group
    from safelog.policy import Enum, FieldPolicy, Id, Int

    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    streams = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    policy = FieldPolicy(
        {"status": Enum("ok", "failed"), "page_count": Int(min=0), "request_id": Id()}
    )
    with mock_aws():
        client = boto3.client("logs", region_name="us-east-1")
        client.create_log_group(logGroupName="/bench")
        base = int(time.time() * 1000) - 3_600_000
        per = total // streams
        seeded = time.perf_counter()
        for s in range(streams):
            name = f"svc/host/{s}"
            client.create_log_stream(logGroupName="/bench", logStreamName=name)
            for start in range(0, per, 10_000):
                events = []
                for i in range(start, min(per, start + 10_000)):
                    rec = {
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
                    if (s * per + i) % 10_000 == 1234:
                        rec["note"] = "planted"
                    events.append(
                        {"timestamp": base + i, "message": json.dumps(rec, separators=(",", ":"))}
                    )
                client.put_log_events(logGroupName="/bench", logStreamName=name, logEvents=events)
        seeded = time.perf_counter() - seeded
        report = AuditReport("/bench", Window(base, base + per + 1), "scan", "", "", False)
        tracemalloc.start()
        t = time.perf_counter()
        scan_group(
            client,
            "/bench",
            report.window,
            RecordChecker(policy),
            report,
            opts=ScanOptions(workers=4, slice_ms=3_600_000),
        )
        elapsed = time.perf_counter() - t
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    # The rules alone, on one stream's worth of the same records: what the
    # audit costs beyond reading (the CPU bound of either engine).
    checker = RecordChecker(policy)
    sample = [
        json.dumps(
            {
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
            },
            separators=(",", ":"),
        )
        for i in range(50_000)
    ]
    t = time.perf_counter()
    for message in sample:
        checker.check(message)
    rules_rate = len(sample) / (time.perf_counter() - t)
    print(f"records: {report.scanned} in {streams} streams (seeded in {seeded:.0f}s)")
    print(f"rules alone: {rules_rate:,.0f} records/s (one core)")
    planted = sum(1 for s in range(streams) for i in range(per) if (s * per + i) % 10_000 == 1234)
    print(f"findings: {len(report.findings)} (planted: {planted})")
    print(f"audit: {elapsed:.1f}s, {report.scanned / elapsed:,.0f} records/s")
    print(f"peak traced memory during the audit: {peak / 1e6:.1f} MB")
    print(f"API calls: {dict(report.calls)}")


if __name__ == "__main__":
    main()
