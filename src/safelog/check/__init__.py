"""
The static checker behind ``safelog check``, as a library.

    from safelog.check import check_paths, format_text
    report = check_paths(["src"])
    print(format_text(report), end="")

It reads source with `ast` only: no checked code is imported or executed.
Not imported by ``import safelog``, and importing it loads none of safelog's
runtime (no structlog configuration, no logging chain): it is a development
tool. Its parts: `rules` (codes and results), `walk` (the one pass over a
module), `judge` and `leaks` (what is a finding), `ignores` (suppressions),
`files` (discovery, policies, imported constants) and `output` (formats).
"""

from __future__ import annotations

from .files import analyse_source, check_paths, event_names, iter_python_files
from .output import FORMATTERS, format_github, format_json, format_sarif, format_text
from .rules import ERROR, NOTE, RULES, CheckReport, FileResult, Finding, Rule


__all__ = [
    "ERROR",
    "FORMATTERS",
    "NOTE",
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
