"""
The CloudWatch options operations care about. Runs offline: configure()
makes no network call, and nothing is logged here, so nothing is sent.
"""

from __future__ import annotations

from typing import Any

import safelog


def logs_client() -> Any:
    # Called once per process, in the shipper thread; a forked worker calls
    # it again and gets its own connections.
    import boto3

    return boto3.session.Session().client("logs", region_name="eu-west-1")


safelog.configure(
    service="api",
    cloudwatch=safelog.CloudWatch(
        log_group="/acme/api",
        stream="{service}/{hostname}/{pid}",  # one stream per process
        retention_days=30,  # applied once per process (logs:PutRetentionPolicy)
        client=logs_client,
        max_queue_events=100_000,  # memory cap, in records ...
        max_queue_bytes=64 * 1024 * 1024,  # ... and in bytes
        send_interval=1.0,  # the longest a record waits for its batch
    ),
    shutdown_timeout=5.0,  # the exit deadline: shutdown(), atexit, SIGTERM, fork children
)

# The loss counters, metadata only (all zero here: nothing was logged).
for name, value in sorted(safelog.stats().items()):
    if name.startswith("cloudwatch_"):
        print(f"{name} = {value}")

safelog.shutdown()
