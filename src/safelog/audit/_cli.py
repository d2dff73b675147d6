"""
``safelog audit LOG_GROUP``: the command line over `safelog.audit`.

Exit codes: 0 every record in the window conforms; 1 findings; 2 the audit
could not run (no such group, no access, no data in the window, a bad
window or policy). Messages on stderr are fixed texts: never a stored value,
an exception's message or anything read from the group.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import sys
import time

from pathlib import Path
from typing import Any, TextIO

from safelog.policy import ConfigurationError, FieldPolicy

from . import audit_group
from ._dataprotection import data_protection_policy
from ._output import FORMATTERS
from ._report import AuditReport, Window, policy_digest
from ._scan import AuditError, Checkpoint, ScanOptions, translate


__all__ = ["add_arguments", "make_client", "parse_age", "parse_time", "run"]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

_RELATIVE = re.compile(r"([0-9]{1,6})([smhdw])\Z")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str, now_ms: int) -> int:
    """
    An instant in epoch ms: ISO 8601 (UTC unless an offset is given), a
    relative age such as ``24h``/``7d``, or ``now``. Raises ValueError.
    """
    text = text.strip()
    if text == "now":
        return now_ms
    m = _RELATIVE.match(text)
    if m:
        return now_ms - int(m.group(1)) * _UNIT_S[m.group(2)] * 1000
    stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    return int(stamp.timestamp() * 1000)


def parse_age(text: str) -> int:
    """An age such as ``30m``, ``1h``, ``7d`` in ms. Raises ValueError."""
    m = _RELATIVE.match(text.strip())
    if m is None:
        raise ValueError(text)
    return int(m.group(1)) * _UNIT_S[m.group(2)] * 1000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``audit`` options to *parser*."""
    parser.add_argument("group", metavar="LOG_GROUP", help="the CloudWatch Logs group to audit")
    parser.add_argument(
        "--since",
        default="24h",
        help="start of the window: ISO 8601 or an age like 24h, 7d (default: 24h)",
    )
    parser.add_argument("--until", default="now", help="end of the window (default: now)")
    parser.add_argument(
        "--format",
        choices=("text", "json", "sarif", "markdown"),
        default="text",
        help="output format (default: text)",
    )
    parser.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--pyproject",
        metavar="PATH",
        help="a pyproject.toml with [tool.safelog] (default: the nearest one above the "
        "current directory)",
    )
    source.add_argument(
        "--module",
        metavar="MODULE[:NAME]",
        help="take the policy from a module, as 'safelog inventory --module' does",
    )
    parser.add_argument(
        "--source",
        metavar="DIR",
        action="append",
        help="the service's code: events must be constants of it (repeatable)",
    )
    parser.add_argument(
        "--engine",
        choices=("auto", "insights", "scan"),
        default="auto",
        help="insights: Logs Insights queries select candidates server-side; scan: page "
        "filter_log_events over streams; auto: insights, falling back to scan (default)",
    )
    parser.add_argument(
        "--endpoint-url", metavar="URL", help="CloudWatch Logs endpoint (also AWS_ENDPOINT_URL)"
    )
    parser.add_argument("--region", metavar="REGION", help="AWS region")
    parser.add_argument(
        "--workers",
        type=int,
        default=4,
        help="read sequences in flight, each over a slice and up to 100 streams (default: 4)",
    )
    parser.add_argument(
        "--slice",
        default="1h",
        help="resume granularity: the window is read in slices of this age (default: 1h)",
    )
    parser.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="record finished slices in FILE; a re-run with the same FILE resumes",
    )
    parser.add_argument(
        "--max-findings",
        type=int,
        default=100_000,
        help="findings listed at most; more are counted by rule (default: 100000)",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar even on a terminal"
    )
    parser.add_argument(
        "--data-protection-policy",
        metavar="FILE",
        help="also write a CloudWatch Logs data protection policy for the group to FILE "
        "(an extra layer on top of safelog; see docs/audit.md)",
    )


def _fail(message: str) -> int:
    sys.stderr.write(f"safelog audit: error: {message}\n")
    return EXIT_ERROR


def _load_policy(args: argparse.Namespace) -> tuple[FieldPolicy, str]:
    from safelog._inventory import policy_from_module, policy_from_pyproject

    if args.module:
        cwd = str(Path.cwd())
        if "" not in sys.path and cwd not in sys.path:
            sys.path.insert(0, cwd)
        policy, source, _ = policy_from_module(args.module)
    else:
        policy, source, _ = policy_from_pyproject(args.pyproject)
    return policy, source


def make_client(endpoint_url: str | None, region: str | None) -> Any:
    """A CloudWatch Logs client; botocore's standard retry mode backs off on throttling."""
    import boto3

    from botocore.config import Config

    config = Config(
        # Attempts from AWS_MAX_ATTEMPTS or the profile (standard mode: 3);
        # call_api adds its own jittered backoff on throttling on top.
        retries={"mode": "standard"},
        max_pool_connections=32,
        user_agent_extra="safelog-audit",
    )
    return boto3.client(
        "logs",
        endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None,
        region_name=region,
        config=config,
    )


class _Progress:
    """A one-line progress bar on a terminal's stderr; nothing elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int, scanned: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.2 and done < total:
            return
        self.last = now
        width = 30
        filled = width * done // total if total else width
        rate = scanned / max(now - self.started, 1e-9)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} slices, "
            f"{scanned} records, {rate:.0f}/s"
        )
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r\033[K")
        self.stream.flush()


def run(args: argparse.Namespace) -> int:
    """Run ``safelog audit``; returns the exit code."""
    now_ms = int(time.time() * 1000)
    try:
        start = parse_time(args.since, now_ms)
        end = parse_time(args.until, now_ms)
        slice_ms = parse_age(args.slice)
    except (ValueError, OverflowError, OSError):
        return _fail("--since, --until and --slice take ISO 8601 times or ages like 30m, 24h, 7d")
    if start >= end:
        return _fail("the window is empty: --since must be before --until")
    if slice_ms <= 0:
        return _fail("--slice must be a positive age such as 1h")
    if args.workers < 1 or args.workers > 64 or args.max_findings < 0:
        return _fail("--workers takes 1 to 64 and --max-findings a count")
    try:
        policy, source = _load_policy(args)
    except ConfigurationError as exc:
        # ConfigurationError messages name options, never values.
        return _fail(str(exc))
    events = None
    if args.source:
        from safelog.check import event_names

        try:
            events = event_names(args.source)
        except FileNotFoundError:
            return _fail("a --source path does not exist")
    window = Window(start, end)
    opts = ScanOptions(workers=args.workers, slice_ms=slice_ms, max_findings=args.max_findings)
    progress = None
    if not args.no_progress and sys.stderr.isatty():
        progress = _Progress(sys.stderr)
    try:
        client = make_client(args.endpoint_url, args.region)
        checkpoint = None
        if args.checkpoint:
            identity = {
                "group": args.group,
                "start": start,
                "end": end,
                "slice_ms": slice_ms,
                "policy": policy_digest(policy),
                "events": None
                if events is None
                else hashlib.sha256("\n".join(sorted(events)).encode()).hexdigest(),
            }
            checkpoint = Checkpoint(args.checkpoint, identity)
        report: AuditReport = audit_group(
            client,
            args.group,
            window,
            policy,
            events=events,
            engine=args.engine,
            opts=opts,
            checkpoint=checkpoint,
            progress=progress,
            policy_source=source,
        )
    except AuditError as exc:
        return _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 -- e.g. botocore setup; never a traceback
        return _fail(str(translate(exc)))
    finally:
        if progress is not None:
            progress.close()
    if report.scanned == 0:
        return _fail("no records in the window: nothing was audited (check --since/--until)")
    text = FORMATTERS[args.format](report)
    try:
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        if args.data_protection_policy:
            doc = data_protection_policy(policy, group=args.group)
            Path(args.data_protection_policy).write_text(
                json.dumps(doc, indent=2) + "\n", encoding="utf-8"
            )
    except OSError:
        return _fail("cannot write the --output or --data-protection-policy file")
    return EXIT_FINDINGS if not report.conforming else EXIT_OK
