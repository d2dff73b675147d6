"""
The Logs Insights engine: CloudWatch selects the candidates, we judge them.

For each slice of the window, queries run server-side:

1. two ``stats count(*) by ...`` queries: the distinct events and names of
   code (level, logger, module, function), and the distinct infrastructure
   values (service, environment, host), judged here by the same rules as
   the scan (so a long list of the code's events never has to fit in a
   query);
2. a ``filter`` that selects every record that *could* break a rule: not an
   object, a key outside the allowed set (a regex for the complement of a
   finite set), a declared field whose value is outside its kind's shape, a
   value shaped like content, a nested structure (error, stack, EMF), a
   built-in key of the wrong type or shape, or one of the values found bad
   in step 1. The filter is a superset: every record it returns is judged
   locally by `RecordChecker`, so it may return too much, never too little.

A query that hits the 10,000-row limit is split in two halves of its slice.
Records scanned are Insights' own ``recordsScanned`` statistics.
"""

from __future__ import annotations

import json
import re
import time

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from safelog.policy import Bool, Duration, Enum, Float, Hashed, Id, Int, Kind, Uuid

from ._checker import RecordChecker
from ._report import AuditReport, CallCounter, Finding, Window
from ._rules import BUILTIN_JUDGES, BUILTIN_KEYS
from ._scan import AuditError, Checkpoint, ScanOptions, call_api, error_code, translate


__all__ = [
    "InsightsUnavailable",
    "candidate_filter",
    "candidate_regexes",
    "insights_group",
    "not_in_regex",
]

MAX_ROWS = 10_000
_MAX_QUERY = 9_000  # Insights accepts 10,000 characters; room for the rest
_POLL = 0.5
# Keys whose distinct values are few (names of code, infrastructure): the
# values are listed server-side and judged here, by the same judges as the
# scan. Two queries, so that the combinations stay few.
_STATS_KEYS: tuple[tuple[str, ...], ...] = (
    ("event", "level", "logger", "module", "function"),
    ("service", "environment", "host", "safelog_error"),
)
_STATS_QUERIES = tuple(
    f"stats count(*) as n by {', '.join(keys)} | limit 10000" for keys in _STATS_KEYS
)
# Built-in keys a stats row cannot judge by type (Insights returns strings):
# any non-string value is selected by regex.
_STRING_KEYS = (
    "event",
    "level",
    "logger",
    "module",
    "function",
    "service",
    "environment",
    "safelog_error",
    "timestamp",
)


class InsightsUnavailable(Exception):  # noqa: N818 -- a condition, not a failure
    """This endpoint has no Logs Insights (or no permission for it): use the scan."""


# -- regexes for the complement of a finite set --------------------------------


def _trie(words: Iterable[str]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}
    return root


def _esc(ch: str) -> str:
    return re.escape(ch) if ch != "-" else r"\-"


def _not_in(node: dict[str, Any]) -> str:
    # Matches exactly the strings of [^"]* that, read from this node, are
    # not in the set: end early, diverge, or go on past a word's end.
    children = sorted(k for k in node if k)
    parts = []
    if children:
        parts.append(f'[^"{"".join(_esc(c) for c in children)}][^"]*')
    else:
        parts.append('[^"]+')
    parts += [f"{_esc(c)}{_not_in(node[c])}" for c in children]
    body = "|".join(parts)
    return f"(?:{body})" if "" in node else f"(?:{body})?"


def not_in_regex(words: Iterable[str]) -> str:
    """A regex matching exactly the strings without ``"`` that are not in *words*."""
    words = list(words)
    if not words:
        return '[^"]*'
    return _not_in(_trie(words))


def _json_inner(text: str) -> str:
    # How a string appears between the quotes in a rendered record.
    return json.dumps(text, ensure_ascii=False)[1:-1]


# -- the candidate filter ---------------------------------------------------------

_CONTENT = [
    r"@[A-Za-z0-9\-]+\.",  # e-mail address
    r"://[^\"\s?#]*\?",  # URL with a query
    r"eyJ[A-Za-z0-9_\-]{5,}\.",  # JWT
    r"[0-9][0-9 \-]{11,}[0-9]",  # card-number-like run of digits
    r"[A-Za-z0-9+/_=\-]{24,}",  # long token
]


def _positional_not(classes: list[str]) -> str:
    # Strings whose character at some position is outside that position's
    # class: the complement of a fixed-shape prefix.
    alts = []
    for i, c in enumerate(classes):
        alts.append(f'[^"]{{{i}}}[^"{c}]')
    return "|".join(alts)


_DIGIT = "0-9"
_TIMESTAMP_NOT = (
    _positional_not(
        [_DIGIT] * 4
        + ["\\-"]
        + [_DIGIT] * 2
        + ["\\-"]
        + [_DIGIT] * 2
        + ["T"]
        + [_DIGIT] * 2
        + [":"]
        + [_DIGIT] * 2
        + [":"]
        + [_DIGIT] * 2
    )
    + '|[^"]{19}[^"]*[^0-9.:+Z"\\-]'
)


def _field_filter(name: str, kind: Kind) -> tuple[list[str], list[str]]:
    """(regexes on @message, numeric conditions) selecting values outside *kind*."""
    key = re.escape(_json_inner(name))
    at = f'"{key}"\\s*:\\s*'
    if isinstance(kind, Bool):
        return [f"{at}(?:[^\\stf]|t[^r]|f[^a])"], []
    if isinstance(kind, (Int, Float, Duration)):
        regexes = [f"{at}[^\\s\\-0-9]"]
        if isinstance(kind, Int):
            regexes.append(f"{at}-?[0-9]+[.eE]")
        lo, hi = kind.min, kind.max
        conds = []
        if (isinstance(kind, Int) and (lo > -(2**63) or hi < 2**63 - 1)) or (
            not isinstance(kind, Int) and (lo != float("-inf") or hi != float("inf"))
        ):
            field = f"`{name}`"
            if lo not in (float("-inf"), -(2**63)):
                conds.append(f"{field} < {lo!r}")
            if hi not in (float("inf"), 2**63 - 1):
                conds.append(f"{field} > {hi!r}")
        return regexes, conds
    if isinstance(kind, Enum):
        values = kind.values
        if all(type(v) is str for v in values):
            inner = not_in_regex(_json_inner(str(v)) for v in values)
            return [f'{at}(?:[^\\s"]|"{inner}"|"[^"]*\\\\)'], []
        return [at], []
    if isinstance(kind, Id):
        if kind.constraints().get("pattern"):
            return [at], []
        n = kind.max_length
        return [f'{at}(?:[^\\s"]|""|"[^"]*[^A-Za-z0-9._:"\\-]|"[^"]{{{n + 1}}})'], []
    if isinstance(kind, Uuid):
        classes = ["[0-9a-f]"] * 36
        for i in (8, 13, 18, 23):
            classes[i] = "-"
        alts = ['[^\\s"]', '"[^"]{0,35}"', '"[^"]{37}']
        for i, c in enumerate(classes):
            neg = "[^\\-]" if c == "-" else "[^0-9a-f]"
            alts.append(f'"[^"]{{{i}}}{neg}')
        return [f"{at}(?:{'|'.join(alts)})"], []
    if isinstance(kind, Hashed):
        alts = [
            '[^\\s"]',
            '"[^"]*[^A-Za-z0-9_:"\\-]',
            '"[^":]*"',
            '"[^"]*:[^"]*:',
            '":',
            '"[^":]{17}',
            '"[^":]*:(?:[^"]{0,25}"|[^"]{27}|[^"]*[^a-z2-7"])',
        ]
        return [f"{at}(?:{'|'.join(alts)})"], []
    # A custom kind: whatever it allows cannot be expressed here.
    return [at], []


def candidate_regexes(checker: RecordChecker) -> tuple[list[str], list[str]]:
    """
    The regexes on ``@message`` and the numeric conditions whose union
    selects every record that could break a rule (events aside).
    """
    allowed = sorted(_json_inner(k) for k in set(BUILTIN_KEYS) | set(checker.fields))
    regexes = [
        r"^\s*[^{\s]",  # does not start as an object
        r"[^}\s]\s*$",  # does not end as one
        f'[{{,]\\s*"{not_in_regex(allowed)}"\\s*:',  # a key outside the allowed set
        # Nested structures and loss reports (keys of their own): judged here.
        r'"(?:error|stack|_aws|cloudwatch_[^"]*)"\s*:',
        r"\\",  # any escape: the regexes above read unescaped text
        # Built-in keys holding something safelog never writes there. The
        # names of code and infrastructure are judged from the stats rows;
        # here, what a stats row cannot show (types) and the keys with too
        # many distinct values to list (time, numbers).
        '"(?:' + "|".join(_STRING_KEYS) + ')"\\s*:\\s*[^\\s"]',
        '"host"\\s*:\\s*[^\\s"n]',
        '"(?:pid|dropped|safelog_cut|line)"\\s*:\\s*(?:[^\\s\\-0-9n]|-?[0-9]+[.eE])',
        '"timestamp"\\s*:\\s*"(?:[^"]{0,18}"|' + _TIMESTAMP_NOT + ")",
        '"buffered"\\s*:\\s*(?:[^\\st]|t[^r])',
        '"sampling_rate"\\s*:\\s*[^\\s0-9]',
        *_CONTENT,
    ]
    conds: list[str] = ["`sampling_rate` > 1"]
    for name, field_kind in sorted(checker.fields.items()):
        if field_kind is None:
            # A request field without a kind: every record carrying it is
            # judged by the scan's rules (fail closed: more rows, no misses).
            regexes.append(f'"{re.escape(_json_inner(name))}"\\s*:')
            continue
        r, c = _field_filter(name, field_kind)
        regexes += r
        conds += c
    return regexes, conds


def candidate_filter(
    checker: RecordChecker, bad_values: Mapping[str, Iterable[str]] | None = None
) -> list[str]:
    """
    The ``filter`` clauses (each under the query length limit) whose union
    selects every record that could break a rule.
    """
    regexes, conds = candidate_regexes(checker)
    clauses = ["@message like /" + r.replace("/", "\\/") + "/" for r in regexes]
    clauses += conds
    for key, values in sorted((bad_values or {}).items()):
        clauses += _in_clauses(key, sorted(values))
    # Pack the clauses into as few queries as fit.
    out: list[str] = []
    current: list[str] = []
    for clause in clauses:
        if current and len(" or ".join([*current, clause])) > _MAX_QUERY:
            out.append(" or ".join(current))
            current = []
        current.append(clause)
    if current:
        out.append(" or ".join(current))
    return out


def _in_clauses(key: str, values: list[str]) -> list[str]:
    out: list[str] = []
    current: list[str] = []
    size = 0
    for value in values:
        lit = json.dumps(value)
        if current and size + len(lit) > _MAX_QUERY - 100:
            out.append(f"`{key}` in [{', '.join(current)}]")
            current, size = [], 0
        current.append(lit)
        size += len(lit) + 2
    if current:
        out.append(f"`{key}` in [{', '.join(current)}]")
    return out


# -- running queries ------------------------------------------------------------


def _value_ok(checker: RecordChecker, key: str, value: str) -> bool:
    if key == "event":
        return not checker.event_codes(value)
    return BUILTIN_JUDGES[key](value)


def _query(  # noqa: PLR0917 -- private, called in two places
    client: Any,
    group: str,
    window: Window,
    query: str,
    counter: CallCounter,
    opts: ScanOptions,
) -> tuple[list[dict[str, str]], float]:
    try:
        started = call_api(
            counter,
            opts,
            "StartQuery",
            client.start_query,
            logGroupName=group,
            startTime=window.start // 1000,
            endTime=(window.end - 1) // 1000,
            queryString=query,
            limit=MAX_ROWS,
        )
    except Exception as exc:
        code = error_code(exc)
        if code in (
            "AccessDeniedException",
            "InvalidOperationException",
            "UnknownOperationException",
        ) or (code is None and type(exc).__name__ == "ClientError"):
            raise InsightsUnavailable from None
        if code is not None and code.startswith("NotImplemented"):
            raise InsightsUnavailable from None
        raise
    query_id = started["queryId"]
    while True:
        result = call_api(
            counter, opts, "GetQueryResults", client.get_query_results, queryId=query_id
        )
        status = result.get("status")
        if status == "Complete":
            if "statistics" not in result:
                # Real Logs Insights always reports what it scanned; an
                # emulator that does not (moto) cannot prove a count.
                raise InsightsUnavailable
            rows = [
                {c["field"]: c.get("value", "") for c in row} for row in result.get("results", [])
            ]
            scanned = float(result.get("statistics", {}).get("recordsScanned", 0.0))
            return rows, scanned
        if status in ("Failed", "Cancelled", "Timeout", "Unknown"):
            raise AuditError(f"a Logs Insights query ended with status {status}")
        time.sleep(_POLL)


def _ms(stamp: str) -> int:
    # Insights returns "2026-11-30 15:00:00.123" (UTC); some emulators epoch ms.
    import datetime as dt

    if stamp.isdigit():
        return int(stamp)
    try:
        t = dt.datetime.strptime(stamp + "+0000", "%Y-%m-%d %H:%M:%S.%f%z")
    except ValueError:
        return 0
    return int(t.timestamp() * 1000)


def _halves(window: Window) -> list[Window]:
    # Insights works in whole seconds: cut on second boundaries.
    mid = (window.start + window.end) // 2 // 1000 * 1000
    if mid <= window.start or mid >= window.end:
        raise AuditError("more than 10,000 candidate records within one second; use --engine scan")
    return [Window(window.start, mid), Window(mid, window.end)]


def insights_group(
    client: Any,
    group: str,
    window: Window,
    checker: RecordChecker,
    report: AuditReport,
    *,
    opts: ScanOptions,
    checkpoint: Checkpoint | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> None:
    """Audit *group* in *window* with Logs Insights; raises `InsightsUnavailable` early."""
    counter = CallCounter()
    clock = time.monotonic()
    seen: set[str] = set()

    def judge(row: dict[str, str], found: list[Finding]) -> None:
        ptr = row.get("@ptr", "")
        if ptr in seen:
            return
        seen.add(ptr)
        codes = checker.check(row.get("@message", ""))
        if codes:
            ts = _ms(row.get("@timestamp", ""))
            stream = row.get("@logStream", "")
            found.extend(Finding(ts, stream, code) for code in codes)

    def keep(findings: list[Finding]) -> None:
        for f in findings:
            if len(report.findings) < opts.max_findings:
                report.findings.append(f)
            else:
                report.overflow[f.rule] += 1

    def audit_piece(piece: Window, out: list[Finding]) -> int:
        # 1. The distinct events, judged here; 10,000 of them: split.
        bad: dict[str, set[str]] = {}
        counted = 0
        scanned = 0.0
        for keys, stats_query in zip(_STATS_KEYS, _STATS_QUERIES, strict=True):
            rows, n = _query(client, group, piece, stats_query, counter, opts)
            if len(rows) >= MAX_ROWS:
                return sum(audit_piece(part, out) for part in _halves(piece))
            for row in rows:
                for key in keys:
                    value = row.get(key)
                    if value is not None and not _value_ok(checker, key, value):
                        bad.setdefault(key, set()).add(value)
            if keys[0] == "event":
                scanned = n
                counted = sum(int(float(row.get("n", "0") or 0)) for row in rows)
        # 2. Every record that could break a rule, judged here.
        for clause in candidate_filter(checker, bad):
            query = (
                "fields @timestamp, @logStream, @message, @ptr"
                f" | filter {clause} | limit {MAX_ROWS}"
            )
            todo = [piece]
            while todo:
                part = todo.pop()
                found, _ = _query(client, group, part, query, counter, opts)
                if len(found) >= MAX_ROWS:
                    todo.extend(_halves(part))
                    continue
                for row in found:
                    judge(row, out)
        # The counts of the first stats query cover every record too (those
        # without the keys in one group).
        return max(int(scanned), counted)

    try:
        # Insights counts whole seconds: slices start on a second, so no
        # record falls in two of them (the window widens by under a second).
        aligned = Window(window.start // 1000 * 1000, -(-window.end // 1000) * 1000)
        step = max(1000, opts.slice_ms // 1000 * 1000)
        pieces = aligned.slices(step)
        for done, piece in enumerate(pieces):
            key = (piece.start, piece.end)
            if checkpoint is not None and key in checkpoint.done:
                scanned, findings = checkpoint.done[key]
                report.resumed_slices += 1
            else:
                # Duplicates (a record selected by two clauses) are only
                # possible within a slice: the set is per slice, bounded.
                seen.clear()
                findings = []
                scanned = audit_piece(piece, findings)
                findings.sort()
                if checkpoint is not None:
                    checkpoint.record(piece, scanned, findings)
            report.scanned += scanned
            keep(findings)
            if progress is not None:
                progress(done + 1, len(pieces), report.scanned)
    except (AuditError, InsightsUnavailable):
        raise
    except Exception as exc:  # noqa: BLE001 -- any failure becomes exit 2, never a traceback
        raise translate(exc) from None
    finally:
        report.elapsed += time.monotonic() - clock
        for op, n in counter.calls.items():
            report.calls[op] = report.calls.get(op, 0) + n
        report.throttled += counter.throttled
    report.findings.sort()
