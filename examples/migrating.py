"""
Migrating to safelog from plain structlog, Powertools Logger and watchtower.

For each, the same log calls run twice: with the usual setup ("before") and
with safelog ("after"). The calls carry planted customer content; the script
counts how much of it reached the output each time (with
`safelog.testing.find_leaks`, which also finds JSON-escaped and other
encodings) and prints the counts only. Run it: `python examples/migrating.py`.
"""

# safelog: ignore-file -- the "before" calls are deliberately unsafe, to show what changes

from __future__ import annotations

import io
import logging
import os
import secrets
import sys

from typing import Any

import structlog

import safelog

from safelog._embedded import EmbeddedMoto
from safelog.testing import find_leaks


# Planted customer content, as real services handle it.
TITLE = "Zoë's salary review — confidential"
TENANT = "acme-corp-customer-4711"
COPIES = "three copies for Zoë"
PLANTED = (TITLE, TENANT, COPIES)

FIELDS = {
    "page_id": safelog.Int(min=1, purpose="internal page number"),
    "tenant": safelog.Hashed(purpose="which customer, pseudonymised"),
}
# A throwaway key for the demo; a service reads its key from a secret store.
HASH_KEY = secrets.token_hex(32)


def leaked(text: str) -> int:
    """How many planted values appear in *text*, in any encoding a sink could produce."""
    return len({leak.canary for leak in find_leaks(text.splitlines(), *PLANTED)})


# -- plain structlog ---------------------------------------------------------


def export(log: Any) -> None:
    """The service's log calls: unchanged by the migration."""
    log.info("export_started", page_id=7, tenant=TENANT, title=TITLE)
    try:
        int(COPIES)
    except ValueError as exc:
        log.error("export_failed", page_id=7, error=str(exc))  # noqa: TRY400
        log.exception("export_failed")


def structlog_before() -> str:
    out = io.StringIO()
    # Only because this script also imports safelog: importing safelog points
    # structlog's defaults (its wrapper class) at safelog. A real "before"
    # service has no safelog; give plain structlog its own wrapper back.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(out),
    )
    log = structlog.get_logger()
    export(log)
    structlog.reset_defaults()
    return out.getvalue()


def structlog_after() -> str:
    out = io.StringIO()
    safelog.configure(service="pages", fields=FIELDS, hash_key=HASH_KEY, console=out)
    log = safelog.get_logger(__name__)
    export(log)
    safelog.shutdown()
    return out.getvalue()


# -- Powertools Logger --------------------------------------------------------


def powertools_before() -> str:
    from aws_lambda_powertools import Logger

    out = io.StringIO()
    logger = Logger(service="pages", logger_handler=logging.StreamHandler(out))
    logger.append_keys(tenant=TENANT)
    logger.info("export started", extra={"page_id": 7, "title": TITLE})
    try:
        int(COPIES)
    except ValueError:
        logger.exception("export failed")
    # Undo what Powertools did to the stdlib logger it manages.
    logging.getLogger("pages").handlers.clear()
    return out.getvalue()


def powertools_after() -> str:
    out = io.StringIO()
    safelog.configure(service="pages", fields=FIELDS, hash_key=HASH_KEY, console=out)
    log = safelog.get_logger(__name__)
    structlog.contextvars.bind_contextvars(tenant=TENANT)  # was: append_keys
    log.info("export_started", page_id=7, title=TITLE)  # was: extra={...}
    try:
        int(COPIES)
    except ValueError:
        log.exception("export_failed")
    structlog.contextvars.clear_contextvars()
    safelog.shutdown()
    return out.getvalue()


# -- watchtower ---------------------------------------------------------------


def stdlib_calls() -> None:
    log = logging.getLogger("pages")
    log.info("export started for %s", TENANT)
    try:
        int(COPIES)
    except ValueError:
        log.exception("export of %r failed", TITLE)


def read_back(endpoint_url: str, log_group: str) -> str:
    import boto3

    logs = boto3.client("logs", endpoint_url=endpoint_url, region_name="us-east-1")
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=log_group)
    return "\n".join(e["message"] for page in pages for e in page["events"])


def watchtower_before(endpoint_url: str) -> str:
    import boto3
    import watchtower

    client = boto3.client("logs", endpoint_url=endpoint_url, region_name="us-east-1")
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    handler = watchtower.CloudWatchLogHandler(log_group_name="/pages/before", boto3_client=client)
    logging.getLogger().addHandler(handler)
    stdlib_calls()
    handler.close()  # type: ignore[no-untyped-call]
    root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    return read_back(endpoint_url, "/pages/before")


def watchtower_after(endpoint_url: str) -> str:
    safelog.configure(
        service="pages",
        console=False,
        cloudwatch=safelog.CloudWatch(
            log_group="/pages/after",  # was: log_group_name=
            endpoint_url=endpoint_url,  # omit for real AWS
            region="us-east-1",
        ),
    )
    stdlib_calls()
    safelog.shutdown()
    return read_back(endpoint_url, "/pages/after")


def main() -> int:
    # The embedded CloudWatch takes any credentials.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    results = {
        "structlog": (structlog_before(), structlog_after()),
        "powertools": (powertools_before(), powertools_after()),
    }
    with EmbeddedMoto() as cloudwatch:
        results["watchtower"] = (
            watchtower_before(cloudwatch.endpoint_url),
            watchtower_after(cloudwatch.endpoint_url),
        )
    ok = True
    for name, (before, after) in results.items():
        lines_after = after.strip().splitlines()
        print(
            f"{name}: before {leaked(before)} of {len(PLANTED)} planted values in the logs; "
            f"after {leaked(after)} ({len(lines_after)} records)"
        )
        ok = ok and leaked(after) == 0 and len(lines_after) > 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
