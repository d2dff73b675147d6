"""
``safelog audit``: prove on what CloudWatch actually stored that it is
metadata only.

    from safelog.audit import audit_group, Window, format_markdown
    report = audit_group(client, "/my/group", Window(start_ms, end_ms), policy)
    print(format_markdown(report))

Two engines read the group. *insights* asks CloudWatch Logs Insights to
select, server-side, every record that could break a rule (a superset), and
checks only those here; *scan* pages ``filter_log_events`` over the streams
with bounded concurrency. Either way each selected record is judged by the
same rules (`RULES`), which use the runtime's own kind validators.

Not imported by ``import safelog``: it needs boto3, and it is an operator's
tool.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from safelog.policy import FieldPolicy

from ._checker import RecordChecker
from ._dataprotection import data_protection_policy
from ._insights import InsightsUnavailable, insights_group
from ._output import FORMATTERS, format_json, format_markdown, format_sarif, format_text
from ._report import AuditReport, Finding, Window, policy_digest, stream_label
from ._rules import RULES, Rule
from ._scan import AuditError, Checkpoint, ScanOptions, scan_group


__all__ = [
    "FORMATTERS",
    "RULES",
    "AuditError",
    "AuditReport",
    "Checkpoint",
    "Finding",
    "RecordChecker",
    "Rule",
    "ScanOptions",
    "Window",
    "audit_group",
    "data_protection_policy",
    "format_json",
    "format_markdown",
    "format_sarif",
    "format_text",
    "policy_digest",
    "stream_label",
]


def audit_group(
    client: Any,
    group: str,
    window: Window,
    policy: FieldPolicy,
    *,
    events: Collection[str] | None = None,
    engine: str = "auto",
    opts: ScanOptions | None = None,
    checkpoint: Checkpoint | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    policy_source: str = "",
) -> AuditReport:
    """
    Audit every record *client* (a boto3 ``logs`` client) has stored in
    *group* within *window* against *policy* and, if given, the *events*
    the code can log. Raises `AuditError` if the audit cannot run.

    *engine*: ``"insights"``, ``"scan"`` or ``"auto"`` (Insights, and the
    scan if Insights is not available at this endpoint).
    """
    if engine not in ("auto", "insights", "scan"):
        msg = "engine must be 'auto', 'insights' or 'scan'"
        raise ValueError(msg)
    checker = RecordChecker(policy, events)
    opts = opts or ScanOptions()

    def new_report(name: str) -> AuditReport:
        return AuditReport(
            group=group,
            window=window,
            engine=name,
            policy_digest=policy_digest(policy),
            policy_source=policy_source,
            events_checked=events is not None,
        )

    tried: AuditReport | None = None
    if engine in ("auto", "insights"):
        tried = new_report("insights")
        try:
            insights_group(
                client,
                group,
                window,
                checker,
                tried,
                opts=opts,
                checkpoint=checkpoint,
                progress=progress,
            )
        except InsightsUnavailable:
            if engine == "insights":
                raise AuditError(
                    "Logs Insights is not available at this endpoint; use --engine scan"
                ) from None
        else:
            return tried
    report = new_report("scan")
    if tried is not None:
        # The calls of the attempt count: the report says what was asked.
        report.calls.update(tried.calls)
        report.elapsed = tried.elapsed
    scan_group(
        client, group, window, checker, report, opts=opts, checkpoint=checkpoint, progress=progress
    )
    return report
