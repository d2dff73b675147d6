"""
safelog in one run: a small "page export" service handles real-looking
customer content, fails now and then, and logs the way hurried code does.
Its logs ship to CloudWatch; then we read back what CloudWatch stored and
check that none of the customer content is there.

    python examples/quickstart.py                     # embedded CloudWatch (moto) on 127.0.0.1
    python examples/quickstart.py --endpoint-url URL  # any CloudWatch-compatible endpoint
    python examples/quickstart.py --aws               # real AWS, standard credential chain

Exits 1 if any planted string reached CloudWatch.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import uuid

from typing import Any

import safelog

from safelog.testing import find_leaks


# -- the service ---------------------------------------------------------------

PAGES = [
    {
        "id": "pg_1001",
        "title": "Q3 layoffs - draft (confidential)",
        "body": "Teams affected: Platform, Billing. Notify on 14 Oct.",
        "owner": "maria.gonzalez@example.com",
    },
    {
        "id": "pg_1002",
        "title": "Diagnosis notes for Sam",
        "body": "Sam's MRI shows a 3 mm lesion; follow up in 6 weeks.",
        "owner": "dr.okafor@clinic.example",
    },
    {
        "id": "pg_1003",
        "title": "Wedding budget \u2764",
        "body": "Venue 12,400 EUR; deposit paid with card ending 4242.",
        "owner": "li.wei@example.org",
    },
    {
        "id": "pg_1004",
        "title": "Password reset runbook",
        "body": "Temporary admin password: Tr0ub4dor&3 (rotate after use)",
        "owner": "ops@example.net",
    },
]

#: Every string the logs must never contain.
PLANTED = [v for page in PAGES for k, v in page.items() if k != "id"]

log = safelog.get_logger(__name__)
std = logging.getLogger("page_export")


class ExportError(Exception):
    pass


def render(page: dict[str, str], attempt: int) -> bytes:
    if attempt % 3 == 2:
        # Exception messages carry content; safelog keeps only the type.
        msg = f"cannot render {page['title']!r} for {page['owner']}"
        raise ExportError(msg)
    return f"# {page['title']}\n\n{page['body']}\n".encode()


def export(page: dict[str, str], attempt: int) -> None:
    started = time.perf_counter()
    log.info("export.started", page_id=page["id"], attempt=attempt)
    try:
        data = render(page, attempt)
    except ExportError:
        log.exception("export.failed", page_id=page["id"], attempt=attempt)
        return
    # The mistakes of an honest developer in a hurry:
    # Shown on purpose: the f-string event becomes "<non-constant-event>".
    log.info(f"exported {page['title']}")  # safelog: ignore[SL101] -- demo  # noqa: G004
    log.info(  # safelog: ignore[SL301] -- demo: undeclared fields are dropped
        "export.done", page_id=page["id"], title=page["title"], owner=page["owner"]
    )
    std.warning("slow export for %s", page["owner"])  # %-args are never interpolated
    log.info(
        "export.finished",
        page_id=page["id"],
        bytes=len(data),
        duration_ms=(time.perf_counter() - started) * 1000,
    )


# -- the demo ------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--endpoint-url", help="a CloudWatch Logs endpoint (default: embedded)")
    where.add_argument("--aws", action="store_true", help="real AWS (standard credentials)")
    parser.add_argument("--region", default=None)
    parser.add_argument("--log-group", default="/safelog/quickstart")
    args = parser.parse_args()

    server = None
    endpoint = args.endpoint_url
    region = args.region
    if not args.aws and endpoint is None:
        from safelog._embedded import EmbeddedMoto

        # The embedded server is moto: it needs credentials of some kind.
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(name, "testing")
        region = region or "us-east-1"
        print("starting an embedded CloudWatch (moto) on 127.0.0.1 ...")
        server = EmbeddedMoto().start()
        endpoint = server.endpoint_url
    try:
        return run(args.log_group, endpoint, region)
    finally:
        if server is not None:
            server.stop()


def run(log_group: str, endpoint: str | None, region: str | None) -> int:
    run_id = uuid.uuid4().hex[:8]
    safelog.configure(
        service="page-export",
        fields={
            "page_id": safelog.Id(pattern=r"pg_[0-9]+"),
            "attempt": safelog.Int(min=0, max=100),
            "bytes": safelog.Int(min=0),
            "duration_ms": safelog.Duration(unit="ms"),
        },
        console=False,
        cloudwatch=safelog.CloudWatch(
            log_group=log_group,
            stream=f"{{service}}/{run_id}/{{pid}}",
            retention_days=1,
            endpoint_url=endpoint,
            region=region,
        ),
    )
    for attempt in range(3):
        for page in PAGES:
            export(page, attempt)
    safelog.shutdown()  # flushes to CloudWatch within shutdown_timeout

    stored = read_back(log_group, f"page-export/{run_id}/", endpoint, region)
    print(TRIED.format(pages=len(PAGES)))
    print(f"What CloudWatch stored: {len(stored)} records in {log_group}\n")
    for message in stored:
        print("  " + shown(json.loads(message)))
    print(LEGEND)
    return verdict(stored)


#: What export() asks to log, described without the customer content itself.
TRIED = """
What the service tried to log, for each of {pages} pages on 3 attempts (see export()):

  log.info("export.started", page_id=..., attempt=...)
  log.info(f"exported {{page title}}")              event built from customer data
  log.info("export.done", page_id=..., title=<page title>, owner=<owner's email>)
  std.warning("slow export for %s", <owner's email>)   stdlib logging, %-argument
  log.info("export.finished", page_id=..., bytes=..., duration_ms=...)
  on every third attempt, instead: log.exception("export.failed", ...) for an
  ExportError whose message quotes the page title and the owner's email
"""

LEGEND = """
Legend:
  <non-constant-event>  the event was built at runtime (the f-string), so it could
                        hold customer data: replaced by this marker, call site kept
  dropped: N            N values were not stored: undeclared fields (title, owner)
                        or %-arguments; counted, never named or shown
  error                 the exception as its type and frames; its message is never stored
  duration_ms           rounded here for reading; CloudWatch has the full value
"""


def shown(record: dict[str, Any]) -> str:
    """One stored record as a line: level, event, then the other fields."""
    extra = {k: v for k, v in record.items() if k not in SHOWN_ELSEWHERE}
    if isinstance(extra.get("duration_ms"), float):
        extra["duration_ms"] = round(extra["duration_ms"], 2)
    if isinstance(extra.get("error"), dict):
        # Type only on this line; the frames are in CloudWatch.
        extra["error"] = {"type": extra["error"].get("type"), "frames": "..."}
    return f"{record.get('level', '?'):<8} {record.get('event')!s:<22} {json.dumps(extra)}"


def verdict(stored: list[str]) -> int:
    """Print the one-line verdict on what CloudWatch stored; 0 if no planted content."""
    # Raw, JSON-escaped, URL-encoded, base64, case-folded, fragments: every
    # encoding safelog.testing knows, not just the plain text.
    leaks = find_leaks(stored, *PLANTED, sink="cloudwatch")
    if leaks or not stored:
        # The planted strings are the demo's own synthetic data.
        print(f"VERDICT: FAIL - {len(leaks)} planted strings reached CloudWatch:")
        for leak in leaks:
            print(f"  {leak}")
        return 1
    print(
        f"VERDICT: OK - none of the {len(PLANTED)} planted titles, bodies and emails is in "
        f"the {len(stored)} records CloudWatch stored."
    )
    return 0


SHOWN_ELSEWHERE = {"timestamp", "level", "event", "service", "host", "pid", "module", "line"}


def read_back(group: str, prefix: str, endpoint: str | None, region: str | None) -> list[str]:
    import boto3

    client = boto3.client("logs", endpoint_url=endpoint, region_name=region)
    stream_names = [
        s["logStreamName"]
        for s in client.describe_log_streams(logGroupName=group, logStreamNamePrefix=prefix)[
            "logStreams"
        ]
    ]
    if not stream_names:
        return []
    events: list[Any] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamNames": stream_names}
    while True:
        page = client.filter_log_events(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    events.sort(key=lambda e: e["timestamp"])
    return [str(e["message"]) for e in events]


if __name__ == "__main__":
    sys.exit(main())
