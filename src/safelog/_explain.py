"""
``safelog explain FILE:LINE``: what happens to each part of the log call on
that line, against the field policy -- production's answer to "why is my
field missing?" (`safelog.stats` counts drops by reason; this says which).

Static, like ``safelog check``: the file is parsed, never run. It names the
call's keyword arguments, which are identifiers written in the code; it never
prints a string literal, a value or a dictionary key.
"""

from __future__ import annotations

import argparse
import ast
import sys

from collections.abc import Collection
from pathlib import Path


__all__ = ["add_arguments", "explain_call", "run"]

_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "msg", "log"}
)
_STDLIB_KEYWORDS = frozenset({"exc_info", "stack_info", "stacklevel", "extra"})
_EXIT_OK, _EXIT_NOT_FOUND, _EXIT_USAGE = 0, 1, 2


def _log_calls(tree: ast.AST, line: int) -> list[ast.Call]:
    found = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _METHODS
        and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    # The innermost call spanning the line: the last to start.
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def _event(node: ast.expr | None) -> str:
    if node is None:
        return "event: none given: the record's event is <non-constant-event>"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return "event: a string literal: kept"
    if isinstance(node, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in node.values):
        return "event: an f-string without placeholders (a literal): kept"
    if isinstance(node, (ast.JoinedStr, ast.BinOp, ast.Call)):
        return (
            "event: built at run time (f-string, %, .format or +): the record's event is "
            "<non-constant-event>, reason non-constant event"
        )
    return (
        "event: an expression: kept only if its value is a string literal of this module "
        "(or an Enum member with one), else <non-constant-event>"
    )


def explain_call(call: ast.Call, fields: Collection[str] | None) -> list[str]:
    """One line per part of *call*: what the chain does with it, and why."""
    method = call.func.attr if isinstance(call.func, ast.Attribute) else "?"
    args = list(call.args)
    if method == "log" and args:
        args = args[1:]  # the level
    out = [_event(args[0] if args else None)]
    for i, _ in enumerate(args[1:], start=1):
        out.append(
            f"positional argument {i}: dropped, never interpolated "
            "(counted in 'dropped', reason positional)"
        )
    out.extend(_keyword(kw, fields) for kw in call.keywords)
    if method == "exception":
        out.append("exception(): the error is recorded as its type, frames and fingerprint")
    if fields is None:
        out.append("(no [tool.safelog.fields] found: declared or not cannot be told)")
    return out


def _keyword(kw: ast.keyword, fields: Collection[str] | None) -> str:
    if kw.arg is None:
        return (
            "**mapping: its keys are known only at run time; each undeclared key is "
            "dropped (reason undeclared) and shown as <name-from-data> on the dev console"
        )
    name = kw.arg
    if name in ("exc_info", "stack_info"):
        return f"{name}=: the error or stack as types, frames and lines; never messages"
    if name == "extra":
        return _extra(kw.value, fields)
    if name in _STDLIB_KEYWORDS:
        return f"{name}=: a logging option, not a field"
    if fields is None:
        return f"{name}=: kept only if declared in the field policy"
    if name in fields:
        return (
            f"{name}=: declared: kept if the value passes its kind, else the kind's "
            "marker (reason wrong kind)"
        )
    return f"{name}=: not declared: dropped (counted in 'dropped', reason undeclared)"


def _extra(value: ast.expr, fields: Collection[str] | None) -> str:
    """stdlib ``extra=``: each key is a field, judged like a keyword argument."""
    if isinstance(value, ast.Dict) and all(
        isinstance(k, ast.Constant) and isinstance(k.value, str) for k in value.keys
    ):
        keys = [k.value for k in value.keys if isinstance(k, ast.Constant)]
        parts = [_keyword(ast.keyword(arg=str(k), value=ast.Constant(None)), fields) for k in keys]
        return "extra= keys as fields: " + "; ".join(parts)
    return (
        "extra=: its keys are known only at run time; each is a field: kept if declared "
        "and valid, else dropped (reason undeclared)"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("where", metavar="FILE:LINE", help="the file and line of a log call")
    parser.add_argument(
        "--pyproject",
        metavar="PATH",
        default=None,
        help="pyproject.toml with [tool.safelog.fields] (default: the nearest above FILE)",
    )


def run(args: argparse.Namespace) -> int:
    from . import _pyproject
    from .errors import ConfigurationError

    path_text, _, line_text = str(args.where).rpartition(":")
    if not path_text or not line_text.isdigit():
        sys.stderr.write("safelog explain: error: give FILE:LINE, e.g. app/views.py:42\n")
        return _EXIT_USAGE
    path = Path(path_text)
    try:
        source = path.read_bytes()
        tree = ast.parse(source, filename=str(path))
    except (OSError, SyntaxError, ValueError):
        # Fixed text: never the file's content or the parser's message.
        sys.stderr.write("safelog explain: error: FILE cannot be read or parsed as Python\n")
        return _EXIT_USAGE
    try:
        found = _pyproject.load(args.pyproject or path.resolve().parent)
    except ConfigurationError as exc:
        sys.stderr.write(f"safelog explain: error: {exc}\n")
        return _EXIT_USAGE
    fields = None if found is None else frozenset(found.fields.kinds)
    line = int(line_text)
    calls = _log_calls(tree, line)
    if not calls:
        sys.stdout.write(f"{path}:{line}: no log call on this line\n")
        return _EXIT_NOT_FOUND
    call = calls[-1]
    method = call.func.attr if isinstance(call.func, ast.Attribute) else "?"
    lines = [f"{path}:{call.lineno}: a .{method}(...) call"]
    lines += [f"  {part}" for part in explain_call(call, fields)]
    sys.stdout.write("\n".join(lines) + "\n")
    return _EXIT_OK
