"""
Output formats of ``safelog check``: text, JSON, GitHub annotations, SARIF.

Output holds codes, positions, paths and the fixed texts of `RULES` only.
Notes (findings that never fail the check) are marked as such in every
format: "note" in text, ``severity`` in JSON, ``::notice`` on GitHub,
``level: note`` in SARIF.
"""

from __future__ import annotations

import json

from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .rules import NOTE, RULES, CheckReport, Finding


__all__ = ["FORMATTERS", "format_github", "format_json", "format_sarif", "format_text"]


def _shown_path(path: str) -> str:
    """
    *path* with every non-printable character as a ``\\x``/``\\u`` escape.

    A file name can hold CR, ESC sequences or bidi overrides that rewrite or
    hide a finding line in a terminal or a CI log; surrogates (undecodable
    bytes of a file name) would make printing fail. Backslashes stay as they
    are: they separate Windows paths. The JSON formats escape these already.
    """
    if path.isprintable():
        return path
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in path)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def format_text(report: CheckReport) -> str:
    """One line per finding plus its hint, then a summary."""
    out = []
    for f in report.findings:
        rule = f.rule
        note = "note: " if rule.severity == NOTE else ""
        out.append(f"{_shown_path(f.path)}:{f.line}:{f.column}: {note}{f.code} {rule.message}")
        out.append(f"    hint: {rule.hint}")
    notes = sum(1 for f in report.findings if f.severity == NOTE)
    errors = len(report.findings) - notes
    files = len({f.path for f in report.findings})
    if report.findings:
        counted = _plural(errors, "finding") + (f" and {_plural(notes, 'note')}" if notes else "")
        out.append(f"Found {counted} in {_plural(files, 'file')} ({report.files_checked} checked).")
    else:
        out.append(f"No findings ({report.files_checked} files checked).")
    if report.files_without_policy:
        out.append(
            f"note: no [tool.safelog] policy was found for {report.files_without_policy} "
            "file(s); field names were not checked there (SL301)."
        )
    return "\n".join(out) + "\n"


def _finding_dict(f: Finding) -> dict[str, Any]:
    rule = f.rule
    return {
        "code": f.code,
        "name": rule.name,
        "severity": rule.severity,
        "path": f.path,
        "line": f.line,
        "column": f.column,
        "message": rule.message,
        "hint": rule.hint,
    }


def format_json(report: CheckReport) -> str:
    """A JSON object: findings, files checked, files without a policy."""
    doc = {
        "findings": [_finding_dict(f) for f in report.findings],
        "files_checked": report.files_checked,
        "files_without_policy": report.files_without_policy,
    }
    return json.dumps(doc, indent=2) + "\n"


def _gh_escape(text: str, *, prop: bool) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def format_github(report: CheckReport) -> str:
    """GitHub Actions workflow commands: one ``::error`` (or ``::notice``) per finding."""
    out = []
    for f in report.findings:
        rule = f.rule
        command = "notice" if rule.severity == NOTE else "error"
        props = (
            f"file={_gh_escape(_shown_path(f.path), prop=True)},line={f.line},col={f.column},"
            f"title={_gh_escape(f'safelog {f.code} ({rule.name})', prop=True)}"
        )
        message = _gh_escape(f"{rule.message}. Hint: {rule.hint}", prop=False)
        out.append(f"::{command} {props}::{message}")
    return "".join(line + "\n" for line in out)


def _sarif_location(path: str) -> dict[str, Any]:
    p = Path(path)
    if p.is_absolute():
        return {"uri": p.as_uri()}
    return {"uri": p.as_posix(), "uriBaseId": "%SRCROOT%"}


#: The distribution that ships the ``safelog`` package (the name ``safelog``
#: on the package index belongs to an unrelated project).
DISTRIBUTION = "safelog-structlog"


def _version() -> str:
    """safelog's version from its installed distribution's metadata (no runtime import)."""
    from importlib import metadata

    # An editable install is not listed by packages_distributions().
    names = [*metadata.packages_distributions().get("safelog", ()), DISTRIBUTION]
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def format_sarif(report: CheckReport) -> str:
    """A SARIF 2.1.0 log with one run, every rule, and one result per finding."""
    codes = list(RULES)
    rules = [
        {
            "id": r.code,
            "name": r.name,
            "shortDescription": {"text": r.message},
            "help": {"text": r.hint},
            "defaultConfiguration": {"level": r.severity},
        }
        for r in RULES.values()
    ]
    results = [
        {
            "ruleId": f.code,
            "ruleIndex": codes.index(f.code),
            "level": f.severity,
            "message": {"text": f"{f.rule.message}. Hint: {f.rule.hint}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _sarif_location(f.path),
                        "region": {"startLine": f.line, "startColumn": f.column},
                    }
                }
            ],
        }
        for f in report.findings
    ]
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "safelog",
                        "version": _version(),
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


#: Output format name -> formatter.
FORMATTERS: Mapping[str, Callable[[CheckReport], str]] = MappingProxyType(
    {"text": format_text, "json": format_json, "github": format_github, "sarif": format_sarif}
)
