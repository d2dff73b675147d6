"""
The audit report as text, JSON, SARIF and a Markdown evidence report.

Every format is built from the report's metadata only: the group name,
the window, counts, call counts, the policy's digest and source, and
findings as (stream label, timestamp, rule code) with the rules' fixed
texts. No stored value and no key of a stored record is ever in the
report, so it can be pasted into a ticket.
"""

from __future__ import annotations

import datetime as dt
import json

from collections.abc import Callable, Mapping
from typing import Any

from ._report import AuditReport, Finding, stream_label
from ._rules import RULES


__all__ = ["FORMATTERS", "format_json", "format_markdown", "format_sarif", "format_text"]

_SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_INFO_URI = "https://safelog.invalid/docs/audit/"


def _iso(ms: int) -> str:
    stamp = dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _verdict(report: AuditReport) -> str:
    if report.conforming:
        return "conforming: every stored record in the window is metadata only"
    return "NOT conforming: stored records break the policy (see findings)"


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "stream": stream_label(f.stream),
        "timestamp": f.timestamp,
        "time": _iso(f.timestamp),
        "rule": f.rule,
        "name": RULES[f.rule].name,
    }


def format_json(report: AuditReport) -> str:
    """``{"scanned": N, "findings": [{"stream", "timestamp", "rule"}, ...], ...}``."""
    out = {
        "group": report.group,
        "window": {"start": _iso(report.window.start), "end": _iso(report.window.end)},
        "engine": report.engine,
        "policy": {"source": report.policy_source, "sha256": report.policy_digest},
        "events_checked_against_source": report.events_checked,
        "scanned": report.scanned,
        "findings": [_finding(f) for f in report.findings],
        "findings_not_listed": dict(sorted(report.overflow.items())),
        "by_rule": dict(sorted(report.by_rule.items())),
        "conforming": report.conforming,
        "api_calls": dict(sorted(report.calls.items())),
        "throttled": report.throttled,
        "elapsed_s": round(report.elapsed, 3),
        "records_per_s": round(report.rate, 1),
    }
    return json.dumps(out, indent=2) + "\n"


def _calls(report: AuditReport) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(report.calls.items())) or "none"


def format_text(report: AuditReport) -> str:
    """For people: one line per finding, then a summary."""
    lines = [
        f"{_iso(f.timestamp)} {stream_label(f.stream)} {f.rule} {RULES[f.rule].name}: "
        f"{RULES[f.rule].summary}"
        for f in report.findings
    ]
    if report.overflow:
        lines.append(f"... and {sum(report.overflow.values())} more findings not listed")
    calls = _calls(report)
    lines += [
        "",
        f"log group {report.group}, {_iso(report.window.start)} to {_iso(report.window.end)}",
        (
            f"{report.scanned} records scanned in {report.elapsed:.1f}s "
            f"({report.rate:.0f} records/s, engine: {report.engine})"
        ),
        f"API calls: {calls}; throttled: {report.throttled}",
        f"{sum(report.by_rule.values())} findings in {report.records_with_findings} records",
        _verdict(report),
    ]
    return "\n".join(lines).lstrip("\n") + "\n"


def format_sarif(report: AuditReport) -> str:
    """SARIF 2.1.0: one result per finding, located at group/stream."""
    used = sorted(report.by_rule)
    rules = [
        {
            "id": code,
            "name": RULES[code].name,
            "shortDescription": {"text": RULES[code].summary},
            "help": {"text": RULES[code].fix},
            "helpUri": _INFO_URI,
        }
        for code in used
    ]
    index = {code: i for i, code in enumerate(used)}
    results = [
        {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": "error",
            "message": {"text": f"{RULES[f.rule].summary} (stored at {_iso(f.timestamp)})"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {
                            "uri": f"cloudwatch-logs:{report.group}/{stream_label(f.stream)}",
                        }
                    },
                    "properties": {"timestamp": f.timestamp},
                }
            ],
        }
        for f in report.findings
    ]
    sarif = {
        "$schema": _SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {"name": "safelog audit", "informationUri": _INFO_URI, "rules": rules}
                },
                "results": results,
                "properties": {
                    "scanned": report.scanned,
                    "group": report.group,
                    "policySha256": report.policy_digest,
                },
            }
        ],
    }
    return json.dumps(sarif, indent=2) + "\n"


_CHECKED = (
    "Every stored record in the window was read and checked: it is one JSON object "
    "in safelog's record shape (or an embedded-metric-format record); every key is "
    "built-in metadata or a declared field; every declared field's value passes its "
    "kind, using the same validators as the runtime; the event is a name (and, with "
    "`--source`, a constant of the code); no value looks like content (e-mail address, "
    "card number, URL with a query, JWT, long high-entropy string). This report names "
    "streams, times and rules only; it holds no stored value."
)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def format_markdown(report: AuditReport) -> str:
    """An evidence report a reviewer can attach: window, counts, policy, findings, verdict."""
    events = (
        "checked against the code's constants (--source)"
        if report.events_checked
        else "shape only (no --source)"
    )
    lines = [
        f"# Log audit: `{report.group}`",
        "",
        f"**Verdict: {_verdict(report)}.**",
        "",
        "| | |",
        "|---|---|",
        f"| Log group | `{report.group}` |",
        f"| Window | {_iso(report.window.start)} to {_iso(report.window.end)} |",
        f"| Records scanned | {report.scanned} |",
        f"| Records with findings | {report.records_with_findings} |",
        f"| Policy | `{_cell(report.policy_source)}`, sha256 `{report.policy_digest}` |",
        f"| Event names | {events} |",
        f"| Engine | {report.engine} |",
        f"| API calls | {_calls(report)} |",
        f"| Duration | {report.elapsed:.1f} s ({report.rate:.0f} records/s) |",
        "",
        "## Findings by rule",
        "",
    ]
    counts = report.by_rule
    if counts:
        lines += ["| Rule | Name | Findings | What it means |", "|---|---|---|---|"]
        lines += [
            f"| {code} | {RULES[code].name} | {n} | {_cell(RULES[code].summary)} |"
            for code, n in sorted(counts.items())
        ]
        lines += ["", "## Findings", "", "| Time (UTC) | Stream | Rule |", "|---|---|---|"]
        lines += [
            f"| {_iso(f.timestamp)} | `{stream_label(f.stream)}` | {f.rule} {RULES[f.rule].name} |"
            for f in report.findings
        ]
        if report.overflow:
            lines += [
                "",
                f"{sum(report.overflow.values())} more findings are counted above but not listed.",
            ]
    else:
        lines.append("None.")
    lines += [
        "",
        "## What was checked",
        "",
        _CHECKED,
        "",
    ]
    return "\n".join(lines)


#: Output format name -> formatter.
FORMATTERS: Mapping[str, Callable[[AuditReport], str]] = {
    "text": format_text,
    "json": format_json,
    "sarif": format_sarif,
    "markdown": format_markdown,
}
