"""
Metrics from the same safe records: an export service's request records are
also CloudWatch metrics (Embedded Metric Format), its DEBUG records are held
per request and shown only for the request that failed, and its logs ship
to an embedded CloudWatch (moto on 127.0.0.1) that we read back.

    python examples/metrics.py

Exits 1 if any planted customer content reached CloudWatch.
"""

from __future__ import annotations

import json
import os
import sys
import time

import safelog

from safelog._embedded import EmbeddedMoto


FIELDS = {
    # Metrics: numeric kinds with a CloudWatch unit (a Duration uses its own).
    "duration_ms": safelog.Duration(metric=True, purpose="time to export"),
    "pages": safelog.Int(min=0, metric="Count", purpose="pages exported"),
    # Dimensions: closed sets declared in code only.
    "outcome": safelog.Enum("ok", "failed", dimension=True),
    "method": safelog.HttpMethod(dimension=True),
    # An ordinary field: in the record, never in the metrics.
    "export_id": safelog.Id(max_length=32),
    "step": safelog.Int(min=0),
}

log = safelog.get_logger(__name__)


def handle_export(export_id: str, title: str, pages: int) -> None:
    """One request: DEBUG records are held; an error shows them."""
    started = time.perf_counter()
    with safelog.buffered():  # the frameworks integrations open this per request
        log.debug(
            "export.loaded",
            export_id=export_id,
            title=title,  # safelog: ignore[SL301] -- planted content, shown to be dropped
        )
        log.debug("export.rendered", export_id=export_id, step=2)
        outcome = "ok"
        if pages > 100:
            outcome = "failed"
            log.error("export.too_large", export_id=export_id)
        log.metric(
            "export.finished",
            duration_ms=(time.perf_counter() - started) * 1000,
            pages=pages,
            outcome=outcome,
            method="POST",
            export_id=export_id,
        )


def read_back(endpoint_url: str, log_group: str) -> list[str]:
    """Every message CloudWatch stored in *log_group*, oldest first."""
    import boto3

    logs = boto3.client("logs", endpoint_url=endpoint_url, region_name="us-east-1")
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=log_group)
    return [e["message"] for page in pages for e in page["events"]]


def main() -> int:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    # Planted customer content: none of it may reach the logs.
    titles = ["Offboarding plan for Zoë Ünal", "Merger memo (strictly private)"]

    with EmbeddedMoto() as cloudwatch:
        safelog.configure(
            service="exporter",
            environment="prod",
            fields=FIELDS,
            metrics_namespace="Exporter",
            buffer_level="DEBUG",
            console=False,
            cloudwatch=safelog.CloudWatch(
                log_group="/examples/metrics",
                endpoint_url=cloudwatch.endpoint_url,  # omit for real AWS
                region="us-east-1",
            ),
        )
        handle_export("exp-1", titles[0], pages=12)
        handle_export("exp-2", titles[1], pages=480)
        stats = safelog.stats()
        safelog.shutdown()  # flushes to CloudWatch
        lines = read_back(cloudwatch.endpoint_url, "/examples/metrics")

    print("What CloudWatch stored:")
    for line in lines:
        print(line)
    metric_records = [json.loads(x) for x in lines if '"_aws"' in x]
    print(f"records with metrics: {len(metric_records)}")
    print(f"held: {stats['buffer_held']}, flushed: {stats['buffer_flushed']}, ", end="")
    print(f"discarded: {stats['buffer_discarded']}")
    leaked = [t for t in titles if any(t in line for line in lines)]
    print("planted customer content in the logs:", "FOUND" if leaked else "none")
    return 1 if leaked else 0


if __name__ == "__main__":
    sys.exit(main())
