"""
The static checker behind ``safelog check``, as a library.

    from safelog.check import check_paths, format_text
    report = check_paths(["src"])
    print(format_text(report), end="")

Not imported by ``import safelog``: the checker is a development tool.
"""

from __future__ import annotations

from ._check import (
    FORMATTERS,
    RULES,
    CheckReport,
    FileResult,
    Finding,
    Rule,
    analyse_source,
    check_paths,
    event_names,
    format_github,
    format_json,
    format_sarif,
    format_text,
    iter_python_files,
)


__all__ = [
    "FORMATTERS",
    "RULES",
    "CheckReport",
    "FileResult",
    "Finding",
    "Rule",
    "analyse_source",
    "check_paths",
    "event_names",
    "format_github",
    "format_json",
    "format_sarif",
    "format_text",
    "iter_python_files",
]
