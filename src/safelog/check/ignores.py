"""
Suppressions: ``# safelog: ignore[SL201] -- why this is fine`` on the
reported line or the first line of the call; ``# safelog: ignore-file --
why`` anywhere in a file suppresses every code in that file. Both need a
reason; without one the comment suppresses nothing and is itself reported
(SL901). A suppression that matches no finding is reported as SL902.
"""

from __future__ import annotations

import io
import re
import tokenize

from dataclasses import dataclass


__all__ = ["apply_ignores", "parse_ignores"]

_IGNORE = re.compile(r"#\s*safelog:\s*ignore(-file)?\b(?:\[([^\]]*)\])?(.*)")
_CODE = re.compile(r"SL\d{3}\Z")


@dataclass
class _Ignore:
    line: int
    col: int
    codes: frozenset[str] | None  # None: every code (ignore-file)
    whole_file: bool
    valid: bool
    used: bool = False


def _comment_positions(text: str) -> set[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                out.add(tok.start)
    except (tokenize.TokenError, SyntaxError):
        pass
    return out


def parse_ignores(text: str) -> list[_Ignore]:
    """Every ``# safelog: ignore`` comment of *text*, valid or not."""
    comments = _comment_positions(text)
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if "safelog:" not in line:
            continue
        # The first match that is a real comment, not text inside a string.
        m = next((m for m in _IGNORE.finditer(line) if (lineno, m.start()) in comments), None)
        if m is None:
            continue
        whole_file = m.group(1) is not None
        raw_codes = m.group(2)
        codes: frozenset[str] | None = None
        valid = True
        if raw_codes is not None:
            parts = [c.strip() for c in raw_codes.split(",")]
            codes = frozenset(parts)
            valid = bool(parts) and all(_CODE.match(c) for c in parts)
        elif not whole_file:
            valid = False
        # The reason runs to the end of the comment or to the next '#'.
        reason = m.group(3).split("#", 1)[0]
        if re.search(r"\w", reason) is None:
            valid = False
        col = len(line[: m.start()].encode("utf-8"))
        out.append(_Ignore(lineno, col, codes, whole_file, valid))
    return out


def apply_ignores(
    found: list[tuple[int, int, str, int]], ignores: list[_Ignore]
) -> list[tuple[int, int, str]]:
    """
    *found* (line, column, code, line of the call) less what *ignores*
    suppress, plus SL901 for each invalid comment and SL902 for each unused one.
    """
    by_line: dict[int, list[_Ignore]] = {}
    whole: list[_Ignore] = []
    kept: list[tuple[int, int, str]] = []
    for ig in ignores:
        if not ig.valid:
            kept.append((ig.line, ig.col, "SL901"))
        elif ig.whole_file:
            whole.append(ig)
        else:
            by_line.setdefault(ig.line, []).append(ig)
    for line, col, code, anchor in found:
        hit = None
        for ig in (*by_line.get(line, ()), *by_line.get(anchor, ()), *whole):
            if ig.codes is None or code in ig.codes:
                hit = ig
                break
        if hit is None:
            kept.append((line, col, code))
        else:
            hit.used = True
    kept.extend((ig.line, ig.col, "SL902") for ig in ignores if ig.valid and not ig.used)
    return kept
