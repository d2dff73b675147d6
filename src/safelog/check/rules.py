"""
The codes ``safelog check`` reports, and the shape of its results.

Codes are stable. Each has a fixed message and hint: nothing from the checked
source is ever echoed, so a finding can be shown anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


__all__ = ["ERROR", "NOTE", "RULES", "CheckReport", "FileResult", "Finding", "Rule"]

#: A finding that fails the check.
ERROR = "error"
#: A finding that informs and never fails the check: the call is safe at
#: runtime (safelog drops what it points at), but the code does needless work.
NOTE = "note"


@dataclass(frozen=True)
class Rule:
    """One finding code: what it means, how to fix it, and how serious it is."""

    code: str
    name: str
    message: str
    hint: str
    severity: str = ERROR


def _rules(*rules: Rule) -> Mapping[str, Rule]:
    return MappingProxyType({r.code: r for r in rules})


#: Every code ``safelog check`` can report, by code. Codes are stable.
RULES: Mapping[str, Rule] = _rules(
    Rule(
        "SL101",
        "event-f-string",
        "log event/message is an f-string, so it is built from data",
        "log a constant event name and pass the values as declared fields",
    ),
    Rule(
        "SL102",
        "event-percent-format",
        "log event/message is %-formatted, so it is built from data",
        "log a constant event name and pass the values as declared fields",
    ),
    Rule(
        "SL103",
        "event-str-format",
        "log event/message is built with str.format()",
        "log a constant event name and pass the values as declared fields",
    ),
    Rule(
        "SL104",
        "event-concatenation",
        "log event/message is built by concatenation or join()",
        "log a constant event name and pass the values as declared fields",
    ),
    Rule(
        "SL105",
        "event-not-constant",
        "log event/message is not a string literal of this module or a constant it imports",
        "use a string literal, or a name or class attribute bound only to string literals "
        "in this module or in a module it imports the name from",
    ),
    Rule(
        "SL106",
        "exception-as-message",
        "an exception object is logged as the message, so its text becomes the event",
        "log a constant event and pass exc_info=True (or call .exception())",
    ),
    Rule(
        "SL107",
        "exception-as-format-arg",
        "an exception is passed as a %-argument: safelog never formats arguments into the "
        "message, so it is dropped",
        "drop the argument and pass exc_info=True; the exception type is recorded safely",
        NOTE,
    ),
    Rule(
        "SL108",
        "leak-shape-in-format-arg",
        "a %-argument has a leak shape (str(), repr(), request content, ...): safelog drops "
        "arguments, so it is computed for nothing",
        "drop the argument; pass the metadata you need as declared fields",
        NOTE,
    ),
    Rule(
        "SL201",
        "str-of-value",
        "str() of a value (or an exception in an f-string) in a log call carries its text",
        "pass the value itself as a declared field; for exceptions pass exc_info=True",
    ),
    Rule(
        "SL202",
        "repr-of-value",
        "repr()/ascii() (or !r) of a value in a log call carries its contents",
        "pass the specific metadata you need as declared fields",
    ),
    Rule(
        "SL203",
        "exception-contents",
        "exception arguments, notes, messages or validation errors embed their inputs",
        "pass exc_info=True; safelog records the exception type and frames only",
    ),
    Rule(
        "SL204",
        "traceback-text",
        "formatted traceback text includes exception messages",
        "pass exc_info=True; safelog records the exception type and frames only",
    ),
    Rule(
        "SL205",
        "object-dump",
        "vars()/__dict__/asdict()/model_dump() dumps every attribute of an object",
        "pass the specific metadata you need as declared fields",
    ),
    Rule(
        "SL206",
        "serialised-payload",
        "a serialised object (json.dumps, pformat, yaml.dump) carries all of its contents",
        "pass the specific metadata you need as declared fields",
    ),
    Rule(
        "SL207",
        "http-content",
        "request/response content (body, json, form, headers, URL, ...) is customer content",
        "log declared metadata such as the route template, method and status instead",
    ),
    Rule(
        "SL208",
        "runtime-keys",
        "**-splatted or runtime-built mapping: its keys and values are decided at runtime",
        "pass each declared field as an explicit keyword argument",
    ),
    Rule(
        "SL301",
        "undeclared-field",
        "field is not declared in [tool.safelog.fields], so it is always dropped",
        "declare the field with a kind in [tool.safelog.fields], or remove it",
    ),
    Rule(
        "SL302",
        "extra-key",
        "extra= key is not declared in [tool.safelog.fields], so it is always dropped",
        "declare the field, or drop it from extra=",
    ),
    Rule(
        "SL900",
        "unparsable-file",
        "file could not be read or parsed as Python, so it was not checked",
        "fix the syntax error (or the encoding declaration) and run the check again",
    ),
    Rule(
        "SL901",
        "ignore-without-reason",
        "suppression comment has no reason (or no codes), so it suppresses nothing",
        "write '# safelog: ignore[CODE] -- why this is safe'",
    ),
    Rule(
        "SL902",
        "unused-ignore",
        "suppression comment matches no finding",
        "remove the comment, or correct its codes",
    ),
)


@dataclass(frozen=True, order=True)
class Finding:
    """One problem at one place. *column* is 1-based, in characters."""

    path: str
    line: int
    column: int
    code: str

    @property
    def rule(self) -> Rule:
        return RULES[self.code]

    @property
    def severity(self) -> str:
        """`ERROR` (fails the check) or `NOTE` (informs only)."""
        return RULES[self.code].severity


@dataclass
class FileResult:
    """The findings of one file, and the lines where log calls were recognised."""

    findings: list[Finding] = field(default_factory=list)
    log_call_lines: set[int] = field(default_factory=set)
    parsed: bool = False
    #: String constants used as events of log calls (``safelog audit --source``).
    events: set[str] = field(default_factory=set)


@dataclass
class CheckReport:
    """The outcome of checking a set of paths."""

    findings: list[Finding]
    files_checked: int
    files_without_policy: int

    @property
    def failed(self) -> bool:
        """Whether any finding is an error (notes never fail the check)."""
        return any(f.severity == ERROR for f in self.findings)
