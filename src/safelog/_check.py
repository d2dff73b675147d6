"""
``safelog check``: find log calls that could put customer content in logs.

The runtime chain turns a leaky call into a marker; this module tells the
developer at review time, before the call ever runs. It reads source with
`ast` only: no code is imported or executed.

What counts as a log call (see docs/check.md for the full list):

- a level method (``debug`` ... ``critical``, ``exception``, ``log``,
  ``msg`` and structlog's ``a``-prefixed async variants) called on a
  *logger*: a name or attribute spelled like one (``log``, ``logger``,
  ``_log``, ``self.logger``, ``audit_log``), anything assigned from a logger
  factory (``logging.getLogger``, ``structlog.get_logger``,
  ``safelog.get_logger``, under any import alias), from ``.bind()``/``.new()``
  of a logger, or from another logger; and the ``logging`` module's own
  functions (``logging.info``, ``from logging import warning``);
- ``.bind()``/``.new()`` of a logger, keyword arguments of
  ``get_logger``/``wrap_logger`` and ``bind_contextvars``: their keywords are
  fields too.

The file is parsed once and walked once. A cheap regular expression first
finds the lines that can hold a log call; files with none are not parsed,
and expressions of statements that hold none are not entered (assignments
are still read, so name bindings stay complete). Calls are judged after the
walk, when every binding of the file is known.

Findings carry a stable code, a position, a fixed explanation and a fixed
hint. Nothing from the checked source is ever echoed: not a string literal,
not a field name, not a syntax error's text. The position is enough to find
the call.

Suppressions: ``# safelog: ignore[SL201] -- why this is fine`` on the
reported line or the first line of the call; ``# safelog: ignore-file --
why`` anywhere in a file suppresses every code in that file. Both need a
reason; without one the comment suppresses nothing and is itself reported
(SL901). A suppression that matches no finding is reported as SL902.
"""

from __future__ import annotations

import ast
import bisect
import io
import os
import re
import tokenize

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any


__all__ = [
    "FORMATTERS",
    "RULES",
    "CheckReport",
    "FileResult",
    "Finding",
    "Rule",
    "analyse_source",
    "check_paths",
    "format_github",
    "format_json",
    "format_sarif",
    "format_text",
    "iter_python_files",
]


@dataclass(frozen=True)
class Rule:
    """One finding code: what it means and how to fix it."""

    code: str
    name: str
    message: str
    hint: str


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
        "log event/message is not a string literal of this module",
        "use a string literal, or a name or class attribute bound only to string literals "
        "in this module",
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
        "an exception is passed as a %-argument, so its text would be formatted into the message",
        "drop the argument and pass exc_info=True; the exception type is recorded safely",
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


@dataclass
class FileResult:
    """The findings of one file, and the lines where log calls were recognised."""

    findings: list[Finding] = field(default_factory=list)
    log_call_lines: set[int] = field(default_factory=set)
    parsed: bool = False


@dataclass
class CheckReport:
    """The outcome of checking a set of paths."""

    findings: list[Finding]
    files_checked: int
    files_without_policy: int


# -- what the walk looks for -------------------------------------------------

_LEVEL_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log", "msg"}
)
_LOG_METHODS = _LEVEL_METHODS | frozenset("a" + m for m in _LEVEL_METHODS)
_BIND_METHODS = frozenset({"bind", "new"})
# Methods of a logger that return a logger.
_CHAIN_METHODS = frozenset({"bind", "new", "unbind", "try_unbind", "opt", "getChild"})
_FACTORIES = frozenset({"getLogger", "get_logger", "wrap_logger", "LoggerAdapter"})
# Factories whose keyword arguments become bound context (fields).
_FIELD_FACTORIES = frozenset({"get_logger", "wrap_logger"})
_LOGGING_FUNCS = _LEVEL_METHODS - {"msg"}
# Keywords of a log call that are not fields.
_NOT_FIELDS = frozenset({"exc_info", "stack_info", "stacklevel", "extra"})
_LOGGER_NAME = re.compile(r"(?:^|_)(?:log|logger)\Z", re.IGNORECASE)
_REQUEST_NAME = re.compile(r"(?:^|_)(?:request|req|response|resp|res|rsp)\Z", re.IGNORECASE)
_REQUEST_ATTRS = frozenset(
    {
        "args",
        "body",
        "content",
        "cookies",
        "data",
        "environ",
        "files",
        "form",
        "full_path",
        "GET",
        "headers",
        "json",
        "META",
        "params",
        "path",
        "POST",
        "query_params",
        "query_string",
        "raw",
        "remote_addr",
        "stream",
        "text",
        "url",
        "values",
    }
)
_TRACEBACK_FUNCS = frozenset(
    {"format_exc", "format_exception", "format_exception_only", "format_tb", "format_stack"}
)
_DUMP_CALLS = frozenset({"asdict", "_asdict", "model_dump", "model_dump_json", "to_dict"})
_SERIALISERS = frozenset({"dumps", "pformat", "safe_dump"})
_SERIALISER_MODULES = frozenset({"json", "orjson", "ujson", "simplejson", "yaml", "pickle"})

# Lines that can hold a log call: a level/bind method call, a factory with
# keywords, bind_contextvars. Matched on bytes, before parsing.
_CANDIDATE = re.compile(
    rb"\.\s*(?:a?(?:debug|info|warning|warn|error|exception|critical|fatal|log|msg)|bind|new)"
    rb"\s*\(|get_logger|wrap_logger|bind_contextvars|configure\s*\("
)
# Present in a file: walk every expression (bare imported log functions;
# walrus bindings hidden inside expressions).
_FULL_WALK = re.compile(rb"from\s+(?:logging|structlog|safelog)[\w.]*\s+import|:=")
_IGNORE = re.compile(r"#\s*safelog:\s*ignore(-file)?\b(?:\[([^\]]*)\])?(.*)")
_CODE = re.compile(r"SL\d{3}\Z")

_OBJECT_REFS = (ast.Name, ast.Attribute, ast.Subscript)

# Binding kinds of a name in a scope.
_CONST = 1  # bound to a string literal
_EXC = 2  # bound by ``except ... as name``
_OTHER = 4


class _Scope:
    __slots__ = ("bindings", "is_class", "parent")

    def __init__(self, parent: _Scope | None, *, is_class: bool = False) -> None:
        self.parent = parent
        self.is_class = is_class
        self.bindings: dict[str, int] = {}

    def bind(self, name: str, kind: int) -> None:
        self.bindings[name] = self.bindings.get(name, 0) | kind

    def lookup(self, name: str) -> int:
        if name in self.bindings:
            return self.bindings[name]
        s = self.parent
        while s is not None:
            if not s.is_class and name in s.bindings:
                return s.bindings[name]
            s = s.parent
        return 0


def _value_kind(node: ast.expr | None) -> int:
    t = type(node)
    if t is ast.Constant:
        return _CONST if type(node.value) is str else _OTHER  # type: ignore[union-attr]
    if t is ast.JoinedStr:
        # An f-string without placeholders is compiled to a plain literal.
        return _CONST if not any(type(v) is ast.FormattedValue for v in node.values) else _OTHER  # type: ignore[union-attr]
    if t is ast.IfExp:
        both = _value_kind(node.body) | _value_kind(node.orelse)  # type: ignore[union-attr]
        return _CONST if both == _CONST else _OTHER
    return _OTHER


def _terminal(node: ast.expr) -> str | None:
    """The last identifier of a name or attribute chain."""
    t = type(node)
    if t is ast.Name:
        return node.id  # type: ignore[attr-defined, no-any-return]
    if t is ast.Attribute:
        return node.attr  # type: ignore[attr-defined, no-any-return]
    return None


class _FileChecker:
    """Walks one parsed module once, then judges the calls it collected."""

    def __init__(self, fields: Collection[str] | None, lines: list[int] | None) -> None:
        self.fields = fields
        # Sorted candidate line numbers; None means walk every expression.
        self.lines = lines
        self.module_aliases: dict[str, str] = {}
        self.func_aliases: dict[str, tuple[str, str]] = {}
        self.logger_names: set[str] = set()
        self.logger_attrs: set[str] = set()
        self.attr_kinds: dict[str, int] = {}
        self.assignments: list[tuple[ast.expr, ast.expr]] = []
        self.calls: list[tuple[ast.Call, _Scope]] = []
        # Module-level ``NAME = {...}``: a policy given to configure() by name.
        self.module_dicts: dict[str, ast.Dict | None] = {}
        # (line, col, code, anchor line of the call)
        self.found: list[tuple[int, int, str, int]] = []
        self.log_call_lines: set[int] = set()

    # -- the walk -------------------------------------------------------------

    def _wanted(self, node: ast.AST) -> bool:
        lines = self.lines
        if lines is None:
            return True
        lo = node.lineno  # type: ignore[attr-defined]
        i = bisect.bisect_left(lines, lo)
        return i < len(lines) and lines[i] <= (node.end_lineno or lo)  # type: ignore[attr-defined]

    def run(self, tree: ast.Module) -> None:
        self._body(tree.body, _Scope(None))
        self._resolve_loggers()
        in_file = self._configured_fields()
        if in_file is not None:
            self.fields = in_file
        for call, scope in self.calls:
            self._judge(call, scope)

    def _configured_fields(self) -> frozenset[str] | None:
        """
        The field names given to ``safelog.configure(fields=...)`` in this
        file, if every such call names them statically (a dict literal, or a
        module-level name bound once to one); else None.
        """
        found: set[str] = set()
        seen = False
        for call, _ in self.calls:
            func = call.func
            if type(func) is ast.Attribute:
                if func.attr != "configure" or type(func.value) is not ast.Name:
                    continue
                if self.module_aliases.get(func.value.id) != "safelog":
                    continue
            elif type(func) is ast.Name:
                if self.func_aliases.get(func.id) != ("safelog", "configure"):
                    continue
            else:
                continue
            given = next((kw.value for kw in call.keywords if kw.arg == "fields"), None)
            if given is None:
                continue
            seen = True
            value = self.module_dicts.get(given.id) if type(given) is ast.Name else given
            if type(value) is not ast.Dict:
                return None
            for key in value.keys:
                if type(key) is not ast.Constant or type(key.value) is not str:
                    return None
                found.add(key.value)
        return frozenset(found) if seen else None

    def _body(self, body: Iterable[ast.stmt], scope: _Scope) -> None:
        for stmt in body:
            self._stmt(stmt, scope)

    def _stmt(self, stmt: ast.stmt, scope: _Scope) -> None:
        t = type(stmt)
        if t is ast.Expr or t is ast.Return:
            value = stmt.value  # type: ignore[attr-defined]
            if value is not None and self._wanted(stmt):
                self._expr(value, scope)
        elif t is ast.Assign:
            value = stmt.value  # type: ignore[attr-defined]
            kind = _value_kind(value)
            if scope.parent is None:
                for target in stmt.targets:  # type: ignore[attr-defined]
                    if type(target) is ast.Name:
                        # Bound twice: no longer known statically.
                        known = target.id not in self.module_dicts and type(value) is ast.Dict
                        self.module_dicts[target.id] = value if known else None
            for target in stmt.targets:  # type: ignore[attr-defined]
                self._bind_target(target, kind, scope, value)
            if self._wanted(stmt):
                self._expr(value, scope)
        elif t is ast.AnnAssign or t is ast.AugAssign:
            value = stmt.value  # type: ignore[attr-defined]
            kind = _value_kind(value) if t is ast.AnnAssign and value is not None else _OTHER
            self._bind_target(stmt.target, kind, scope, value)  # type: ignore[attr-defined]
            if value is not None and self._wanted(stmt):
                self._expr(value, scope)
        elif t is ast.FunctionDef or t is ast.AsyncFunctionDef:
            scope.bind(stmt.name, _OTHER)  # type: ignore[attr-defined]
            if self._wanted(stmt):
                for d in stmt.decorator_list:  # type: ignore[attr-defined]
                    self._expr(d, scope)
                args = stmt.args  # type: ignore[attr-defined]
                for d in (*args.defaults, *[k for k in args.kw_defaults if k is not None]):
                    self._expr(d, scope)
            inner = _Scope(scope)
            self._bind_args(stmt.args, inner)  # type: ignore[attr-defined]
            self._body(stmt.body, inner)  # type: ignore[attr-defined]
        elif t is ast.ClassDef:
            scope.bind(stmt.name, _OTHER)  # type: ignore[attr-defined]
            if self._wanted(stmt):
                for e in (*stmt.decorator_list, *stmt.bases):  # type: ignore[attr-defined]
                    self._expr(e, scope)
            inner = _Scope(scope, is_class=True)
            self._body(stmt.body, inner)  # type: ignore[attr-defined]
            # Class attributes are read as Cls.NAME / self.NAME anywhere.
            for name, kind in inner.bindings.items():
                self.attr_kinds[name] = self.attr_kinds.get(name, 0) | kind
        elif t is ast.If or t is ast.While:
            if self._wanted(stmt.test):  # type: ignore[attr-defined]
                self._expr(stmt.test, scope)  # type: ignore[attr-defined]
            self._body(stmt.body, scope)  # type: ignore[attr-defined]
            self._body(stmt.orelse, scope)  # type: ignore[attr-defined]
        elif t is ast.For or t is ast.AsyncFor:
            self._bind_target(stmt.target, _OTHER, scope, None)  # type: ignore[attr-defined]
            if self._wanted(stmt.iter):  # type: ignore[attr-defined]
                self._expr(stmt.iter, scope)  # type: ignore[attr-defined]
            self._body(stmt.body, scope)  # type: ignore[attr-defined]
            self._body(stmt.orelse, scope)  # type: ignore[attr-defined]
        elif t is ast.With or t is ast.AsyncWith:
            for item in stmt.items:  # type: ignore[attr-defined]
                if item.optional_vars is not None:
                    self._bind_target(item.optional_vars, _OTHER, scope, None)
                if self._wanted(item.context_expr):
                    self._expr(item.context_expr, scope)
            self._body(stmt.body, scope)  # type: ignore[attr-defined]
        elif t is ast.Try or t.__name__ == "TryStar":
            self._body(stmt.body, scope)  # type: ignore[attr-defined]
            for handler in stmt.handlers:  # type: ignore[attr-defined]
                if handler.name:
                    scope.bind(handler.name, _EXC)
                self._body(handler.body, scope)
            self._body(stmt.orelse, scope)  # type: ignore[attr-defined]
            self._body(stmt.finalbody, scope)  # type: ignore[attr-defined]
        elif t is ast.Import:
            for alias in stmt.names:  # type: ignore[attr-defined]
                if alias.asname:
                    self.module_aliases[alias.asname] = alias.name
                    scope.bind(alias.asname, _OTHER)
                else:
                    top = alias.name.partition(".")[0]
                    self.module_aliases[top] = top
                    scope.bind(top, _OTHER)
        elif t is ast.ImportFrom:
            module = stmt.module or ""  # type: ignore[attr-defined]
            for alias in stmt.names:  # type: ignore[attr-defined]
                local = alias.asname or alias.name
                self.func_aliases[local] = (module, alias.name)
                scope.bind(local, _OTHER)
        elif t is ast.Match:
            if self._wanted(stmt.subject):  # type: ignore[attr-defined]
                self._expr(stmt.subject, scope)  # type: ignore[attr-defined]
            for case in stmt.cases:  # type: ignore[attr-defined]
                for node in ast.walk(case.pattern):
                    for attr in ("name", "rest"):
                        bound = getattr(node, attr, None)
                        if type(bound) is str:
                            scope.bind(bound, _OTHER)
                if case.guard is not None and self._wanted(case.guard):
                    self._expr(case.guard, scope)
                self._body(case.body, scope)
        elif self._wanted(stmt):
            # Raise, Assert, Delete, ...: expressions only.
            for name in stmt._fields:
                value = getattr(stmt, name, None)
                if isinstance(value, ast.expr):
                    self._expr(value, scope)

    def _bind_args(self, args: ast.arguments, scope: _Scope) -> None:
        for a in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            scope.bind(a.arg, _OTHER)
        if args.vararg is not None:
            scope.bind(args.vararg.arg, _OTHER)
        if args.kwarg is not None:
            scope.bind(args.kwarg.arg, _OTHER)

    def _bind_target(
        self, target: ast.expr, kind: int, scope: _Scope, value: ast.expr | None
    ) -> None:
        t = type(target)
        if t is ast.Name:
            scope.bind(target.id, kind)  # type: ignore[attr-defined]
            if value is not None and type(value) in (ast.Call, ast.Name, ast.Attribute):
                self.assignments.append((target, value))
        elif t is ast.Attribute:
            attr = target.attr  # type: ignore[attr-defined]
            self.attr_kinds[attr] = self.attr_kinds.get(attr, 0) | kind
            if value is not None and type(value) in (ast.Call, ast.Name, ast.Attribute):
                self.assignments.append((target, value))
        elif t is ast.Tuple or t is ast.List:
            for elt in target.elts:  # type: ignore[attr-defined]
                self._bind_target(elt, _OTHER, scope, None)
        elif t is ast.Starred:
            self._bind_target(target.value, _OTHER, scope, None)  # type: ignore[attr-defined]

    def _expr(self, root: ast.expr, scope: _Scope) -> None:
        stack: list[tuple[ast.AST, _Scope]] = [(root, scope)]
        pop, push = stack.pop, stack.append
        AST = ast.AST  # noqa: N806 -- a local for the hot loop
        while stack:
            node, sc = pop()
            t = type(node)
            if t is ast.Call:
                self.calls.append((node, sc))  # type: ignore[arg-type]
            elif t is ast.Lambda:
                inner = _Scope(sc)
                self._bind_args(node.args, inner)  # type: ignore[attr-defined]
                push((node.body, inner))  # type: ignore[attr-defined]
                continue
            elif t is ast.NamedExpr:
                self._bind_target(node.target, _value_kind(node.value), sc, node.value)  # type: ignore[attr-defined]
            elif t is ast.comprehension:
                self._bind_target(node.target, _OTHER, sc, None)  # type: ignore[attr-defined]
            for name in node._fields:
                value = getattr(node, name, None)
                if type(value) is list:
                    for v in value:
                        if isinstance(v, AST):
                            push((v, sc))
                elif isinstance(value, AST):
                    push((value, sc))

    # -- judging --------------------------------------------------------------

    def _resolve_loggers(self) -> None:
        # Iterate to a fixed point: ``a = logger; b = a`` in any order.
        pending = self.assignments
        changed = True
        while changed and pending:
            changed = False
            rest = []
            for target, value in pending:
                if self._is_logger(value):
                    if type(target) is ast.Name:
                        self.logger_names.add(target.id)
                    else:
                        self.logger_attrs.add(target.attr)  # type: ignore[attr-defined]
                    changed = True
                else:
                    rest.append((target, value))
            pending = rest

    def _factory(self, func: ast.expr) -> str | None:
        """The factory name if *func* is a logger factory, else None."""
        t = type(func)
        if t is ast.Name:
            origin = self.func_aliases.get(func.id)  # type: ignore[attr-defined]
            name = origin[1] if origin is not None else func.id  # type: ignore[attr-defined]
            return name if name in _FACTORIES else None
        if t is ast.Attribute and func.attr in _FACTORIES:  # type: ignore[attr-defined]
            return func.attr  # type: ignore[attr-defined, no-any-return]
        return None

    def _is_logger(self, node: ast.expr) -> bool:
        t = type(node)
        if t is ast.Name:
            name = node.id  # type: ignore[attr-defined]
            return (
                name in self.logger_names
                or _LOGGER_NAME.search(name) is not None
                or self.module_aliases.get(name) == "logging"
            )
        if t is ast.Attribute:
            attr = node.attr  # type: ignore[attr-defined]
            if attr in self.logger_attrs or _LOGGER_NAME.search(attr) is not None:
                return True
            base = node.value  # type: ignore[attr-defined]
            return (
                attr == "root"
                and type(base) is ast.Name
                and self.module_aliases.get(base.id) == "logging"
            )
        if t is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            if self._factory(func) is not None:
                return True
            return (
                type(func) is ast.Attribute
                and func.attr in _CHAIN_METHODS
                and self._is_logger(func.value)
            )
        return False

    def _judge(self, call: ast.Call, scope: _Scope) -> None:
        func = call.func
        t = type(func)
        if t is ast.Attribute:
            method = func.attr  # type: ignore[attr-defined]
            if method in _LOG_METHODS:
                if self._is_logger(func.value):  # type: ignore[attr-defined]
                    self._log_call(call, method, scope)
                return
            if method in _BIND_METHODS:
                if self._is_logger(func.value):  # type: ignore[attr-defined]
                    self._fields_call(call, scope)
                return
            if method == "bind_contextvars":
                self._fields_call(call, scope)
                return
            if method in _FIELD_FACTORIES:
                self._fields_call(call, scope)
            return
        if t is ast.Name:
            origin = self.func_aliases.get(func.id)  # type: ignore[attr-defined]
            if origin is None:
                return
            module, name = origin
            if module == "logging" and name in _LOGGING_FUNCS:
                self._log_call(call, name, scope)
            elif name == "bind_contextvars" or (
                name in _FIELD_FACTORIES and module.partition(".")[0] in ("structlog", "safelog")
            ):
                self._fields_call(call, scope)

    def _add(self, node: ast.AST, code: str, anchor: int) -> None:
        self.found.append((node.lineno, node.col_offset, code, anchor))  # type: ignore[attr-defined]

    def _log_call(self, call: ast.Call, method: str, scope: _Scope) -> None:
        anchor = call.lineno
        self.log_call_lines.add(anchor)
        index = 1 if method in ("log", "alog") else 0
        args = call.args
        event: ast.expr | None = None
        event_kw: str | None = None
        if len(args) > index:
            event = args[index]
        else:
            for kw in call.keywords:
                if kw.arg in ("event", "msg"):
                    event, event_kw = kw.value, kw.arg
                    break
        if event is not None:
            code = self._event_code(event, scope)
            if code is not None:
                self._add(event, code, anchor)
        for arg in args[index + 1 :]:
            if type(arg) is ast.Name and scope.lookup(arg.id) & _EXC:
                self._add(arg, "SL107", anchor)
            else:
                self._scan(arg, scope, anchor)
        for kw in call.keywords:
            name = kw.arg
            if event_kw is not None and name == event_kw:
                continue
            if name == "extra":
                self._extra(kw.value, scope, anchor)
            elif name in _NOT_FIELDS:
                continue
            else:
                self._keyword(kw, scope, anchor)

    def _fields_call(self, call: ast.Call, scope: _Scope) -> None:
        anchor = call.lineno
        self.log_call_lines.add(anchor)
        for kw in call.keywords:
            self._keyword(kw, scope, anchor)

    def _keyword(self, kw: ast.keyword, scope: _Scope, anchor: int) -> None:
        fields = self.fields
        if kw.arg is None:
            value = kw.value
            if type(value) is ast.Dict and all(
                type(k) is ast.Constant and type(k.value) is str for k in value.keys
            ):
                for k, v in zip(value.keys, value.values, strict=True):
                    if fields is not None and k.value not in fields:  # type: ignore[union-attr]
                        self._add(k, "SL301", anchor)  # type: ignore[arg-type]
                    self._scan(v, scope, anchor)
            else:
                self._add(kw, "SL208", anchor)
            return
        if fields is not None and kw.arg not in fields:
            self._add(kw, "SL301", anchor)
        self._scan(kw.value, scope, anchor)

    def _extra(self, value: ast.expr, scope: _Scope, anchor: int) -> None:
        if type(value) is ast.Dict:
            for k, v in zip(value.keys, value.values, strict=True):
                if k is None:
                    self._add(v, "SL208", anchor)
                    continue
                if type(k) is ast.Constant and type(k.value) is str:
                    # The bridge runs extra= through the policy, as keywords.
                    if self.fields is None or k.value not in self.fields:
                        self._add(k, "SL302", anchor)
                else:
                    self._add(k, "SL208", anchor)
                self._scan(v, scope, anchor)
        elif (
            type(value) is ast.Call
            and type(value.func) is ast.Name
            and value.func.id == "dict"
            and not value.args
        ):
            for kw in value.keywords:
                if kw.arg is None:
                    self._add(kw, "SL208", anchor)
                    continue
                if self.fields is None or kw.arg not in self.fields:
                    self._add(kw, "SL302", anchor)
                self._scan(kw.value, scope, anchor)
        else:
            self._add(value, "SL208", anchor)

    def _event_code(self, node: ast.expr, scope: _Scope) -> str | None:
        t = type(node)
        if t is ast.Constant:
            return None if type(node.value) is str else "SL105"  # type: ignore[attr-defined]
        if t is ast.JoinedStr:
            return "SL101" if _value_kind(node) != _CONST else None
        if t is ast.BinOp:
            op = type(node.op)  # type: ignore[attr-defined]
            if op is ast.Mod:
                return "SL102"
            return "SL104" if op is ast.Add else "SL105"
        if t is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            if type(func) is ast.Attribute:
                if func.attr == "format":
                    return "SL103"
                if func.attr == "join":
                    return "SL104"
            return "SL105"
        if t is ast.Name:
            kind = scope.lookup(node.id)  # type: ignore[attr-defined]
            if kind & _EXC:
                return "SL106"
            return None if kind == _CONST else "SL105"
        if t is ast.Attribute:
            return None if self.attr_kinds.get(node.attr) == _CONST else "SL105"  # type: ignore[attr-defined]
        if t is ast.IfExp:
            return self._event_code(node.body, scope) or self._event_code(node.orelse, scope)  # type: ignore[attr-defined]
        return "SL105"

    def _leak(self, node: ast.AST, scope: _Scope) -> str | None:
        """The leak-shape code of *node* itself, if it is one."""
        t = type(node)
        if t is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            ft = type(func)
            if ft is ast.Name:
                name = func.id
                origin = self.func_aliases.get(name)
                real = origin[1] if origin is not None else name
                if name == "str":
                    # str() of an object (not of a computed value such as
                    # str(uuid4()) or str(len(x))).
                    args = node.args  # type: ignore[attr-defined]
                    if args and type(args[0]) in _OBJECT_REFS:
                        return "SL201"
                    return None
                if name in ("repr", "ascii"):
                    return "SL202"
                if name in ("vars", "locals", "globals") or real in _DUMP_CALLS:
                    return "SL205"
                if real in _TRACEBACK_FUNCS:
                    return "SL204"
                if real in _SERIALISERS:
                    return "SL206"
                return None
            if ft is ast.Attribute:
                attr = func.attr
                if attr == "errors" and not node.args:  # type: ignore[attr-defined]
                    return "SL203"
                if attr in _TRACEBACK_FUNCS:
                    return "SL204"
                if attr in _DUMP_CALLS or attr == "dict":
                    return "SL205"
                if attr in _SERIALISERS or (
                    attr == "dump"
                    and type(func.value) is ast.Name
                    and func.value.id in _SERIALISER_MODULES
                ):
                    return "SL206"
                if attr in ("json", "get_json", "get_data"):
                    return "SL207"
            return None
        if t is ast.Attribute:
            attr = node.attr  # type: ignore[attr-defined]
            base = node.value  # type: ignore[attr-defined]
            if attr in _REQUEST_ATTRS:
                base_name = _terminal(base)
                if base_name is not None and _REQUEST_NAME.search(base_name) is not None:
                    return "SL207"
            if attr in ("json", "body"):
                return "SL207"
            if attr == "__dict__":
                return "SL205"
            if attr in ("args", "__notes__"):
                return "SL203"
            if (
                attr in ("message", "strerror")
                and type(base) is ast.Name
                and scope.lookup(base.id) & _EXC
            ):
                return "SL203"
            return None
        if t is ast.Subscript:
            key = node.slice  # type: ignore[attr-defined]
            if type(key) is ast.Constant and type(key.value) is str:
                if key.value in ("body", "json"):
                    return "SL207"
                base_name = _terminal(node.value)  # type: ignore[attr-defined]
                if (
                    key.value in _REQUEST_ATTRS
                    and base_name is not None
                    and _REQUEST_NAME.search(base_name) is not None
                ):
                    return "SL207"
            return None
        if t is ast.FormattedValue:
            if node.conversion == ord("r"):  # type: ignore[attr-defined]
                return "SL202"
            value = node.value  # type: ignore[attr-defined]
            if type(value) is ast.Name and scope.lookup(value.id) & _EXC:
                return "SL201"
        return None

    def _scan(self, root: ast.expr, scope: _Scope, anchor: int) -> None:
        """Report the outermost leak shapes anywhere inside *root*."""
        stack: list[ast.AST] = [root]
        while stack:
            node = stack.pop()
            code = self._leak(node, scope)
            if code is not None:
                self._add(node, code, anchor)
                continue
            for name in node._fields:
                value = getattr(node, name, None)
                if type(value) is list:
                    stack.extend(v for v in value if isinstance(v, ast.AST))
                elif isinstance(value, ast.AST):
                    stack.append(value)


# -- suppressions ---------------------------------------------------------------


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


def _ignores(text: str) -> list[_Ignore]:
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


def _apply_ignores(
    found: list[tuple[int, int, str, int]], ignores: list[_Ignore]
) -> list[tuple[int, int, str]]:
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


# -- files -------------------------------------------------------------------------


def _char_column(source: bytes, lines: list[bytes] | None, line: int, col: int) -> int:
    if lines is None or line < 1 or line > len(lines):
        return col + 1
    try:
        return len(lines[line - 1][:col].decode("utf-8")) + 1
    except UnicodeDecodeError:
        return col + 1


def analyse_source(
    source: bytes | str,
    path: str = "<string>",
    *,
    fields: Collection[str] | None = None,
    honour_ignores: bool = True,
) -> FileResult:
    """
    Check one module's source. *fields* are the declared field names (None:
    no policy known, so field names are not checked).
    """
    data = source.encode("utf-8") if isinstance(source, str) else source
    result = FileResult()
    has_ignore = b"safelog:" in data
    matches = [m.start() for m in _CANDIDATE.finditer(data)]
    full_walk = _FULL_WALK.search(data) is not None
    if not matches and not has_ignore and not full_walk:
        return result
    try:
        tree = ast.parse(data, filename=path)
    except (SyntaxError, ValueError) as exc:
        # The error's own text may quote the source: only the position is kept.
        line = getattr(exc, "lineno", None) or 1
        result.findings.append(Finding(path, line, 1, "SL900"))
        return result
    result.parsed = True
    lines: list[int] | None = None
    if not full_walk:
        lines = []
        last_pos, last_line = 0, 1
        for pos in matches:
            last_line += data.count(b"\n", last_pos, pos)
            last_pos = pos
            lines.append(last_line)
    checker = _FileChecker(None if fields is None else frozenset(fields), lines)
    checker.run(tree)
    result.log_call_lines = checker.log_call_lines
    if not checker.found and not has_ignore:
        return result
    raw: list[tuple[int, int, str]]
    if has_ignore and honour_ignores:
        raw = _apply_ignores(checker.found, _ignores(data.decode("utf-8", "replace")))
    else:
        raw = [(line, col, code) for line, col, code, _ in checker.found]
    split = data.splitlines() if raw else None
    result.findings = sorted(
        Finding(path, line, _char_column(data, split, line, col), code) for line, col, code in raw
    )
    return result


_SKIP_DIRS = frozenset({"__pycache__", "node_modules"})


def iter_python_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """
    Every ``.py`` file under *paths*, sorted, without duplicates. Hidden
    directories, ``__pycache__``, ``node_modules`` and virtualenvs found while
    recursing are skipped; a path given explicitly is always used.
    """
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found: list[Path] = []
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames[:] = sorted(
                    d
                    for d in dirnames
                    if not d.startswith(".")
                    and d not in _SKIP_DIRS
                    and not (Path(dirpath, d, "pyvenv.cfg").exists())
                )
                found.extend(Path(dirpath, f) for f in filenames if f.endswith(".py"))
            files = sorted(found)
        else:
            files = [p]
        for f in files:
            if f not in seen:
                seen.add(f)
                yield f


class PolicyLookup:
    """Finds (once per directory) the declared field names for a file."""

    def __init__(self, pyproject: str | os.PathLike[str] | None) -> None:
        from . import _pyproject

        self._load = _pyproject.load
        self._find = _pyproject.find_pyproject
        self._fixed: frozenset[str] | None = None
        self._by_dir: dict[Path, frozenset[str] | None] = {}
        self._by_file: dict[Path, frozenset[str] | None] = {}
        self.explicit = pyproject is not None
        if pyproject is not None:
            found = self._load(pyproject)
            if found is None:
                msg = "--pyproject: the file has no [tool.safelog] table"
                raise LookupError(msg)
            self._fixed = frozenset(found.fields.kinds)

    def fields_for(self, path: Path) -> frozenset[str] | None:
        if self.explicit:
            return self._fixed
        directory = path.parent if path.parent != Path() else Path.cwd()
        if directory in self._by_dir:
            return self._by_dir[directory]
        pyproject = self._find(directory.resolve())
        result: frozenset[str] | None = None
        if pyproject is not None:
            if pyproject not in self._by_file:
                found = self._load(pyproject)
                self._by_file[pyproject] = None if found is None else frozenset(found.fields.kinds)
            result = self._by_file[pyproject]
        self._by_dir[directory] = result
        return result


def check_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    pyproject: str | os.PathLike[str] | None = None,
    honour_ignores: bool = True,
    on_file: Callable[[Path, FileResult], Any] | None = None,
) -> CheckReport:
    """
    Check every Python file under *paths*. The policy comes from *pyproject*
    if given, else from the nearest ``pyproject.toml`` above each file.

    Raises:
        FileNotFoundError: a path does not exist.
        LookupError: *pyproject* has no ``[tool.safelog]`` table.
        safelog.ConfigurationError: a policy file is malformed.
    """
    paths = list(paths)
    for p in paths:
        if not Path(p).exists():
            raise FileNotFoundError(os.fspath(p))
    policies = PolicyLookup(pyproject)
    findings: list[Finding] = []
    files = 0
    without_policy = 0
    for path in iter_python_files(paths):
        files += 1
        fields = policies.fields_for(path)
        if fields is None:
            without_policy += 1
        try:
            data = path.read_bytes()
        except OSError:
            findings.append(Finding(str(path), 1, 1, "SL900"))
            continue
        result = analyse_source(data, str(path), fields=fields, honour_ignores=honour_ignores)
        findings.extend(result.findings)
        if on_file is not None:
            on_file(path, result)
    return CheckReport(sorted(findings), files, without_policy)


# -- output ------------------------------------------------------------------------
# Output holds codes, positions, paths and the fixed texts of RULES only.


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


def format_text(report: CheckReport) -> str:
    """One line per finding plus its hint, then a summary."""
    out = []
    for f in report.findings:
        rule = f.rule
        out.append(f"{_shown_path(f.path)}:{f.line}:{f.column}: {f.code} {rule.message}")
        out.append(f"    hint: {rule.hint}")
    files = len({f.path for f in report.findings})
    if report.findings:
        n = len(report.findings)
        out.append(
            f"Found {n} finding{'s' if n != 1 else ''} in {files} "
            f"file{'s' if files != 1 else ''} ({report.files_checked} checked)."
        )
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
        "path": f.path,
        "line": f.line,
        "column": f.column,
        "message": rule.message,
        "hint": rule.hint,
    }


def format_json(report: CheckReport) -> str:
    """A JSON object: findings, files checked, files without a policy."""
    import json

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
    """GitHub Actions workflow commands: one ``::error`` annotation per finding."""
    out = []
    for f in report.findings:
        rule = f.rule
        props = (
            f"file={_gh_escape(_shown_path(f.path), prop=True)},line={f.line},col={f.column},"
            f"title={_gh_escape(f'safelog {f.code} ({rule.name})', prop=True)}"
        )
        message = _gh_escape(f"{rule.message}. Hint: {rule.hint}", prop=False)
        out.append(f"::error {props}::{message}")
    return "".join(line + "\n" for line in out)


def _sarif_location(path: str) -> dict[str, Any]:
    p = Path(path)
    if p.is_absolute():
        return {"uri": p.as_uri()}
    return {"uri": p.as_posix(), "uriBaseId": "%SRCROOT%"}


def format_sarif(report: CheckReport) -> str:
    """A SARIF 2.1.0 log with one run, every rule, and one result per finding."""
    import json

    from . import __version__

    codes = list(RULES)
    rules = [
        {
            "id": r.code,
            "name": r.name,
            "shortDescription": {"text": r.message},
            "help": {"text": r.hint},
            "defaultConfiguration": {"level": "error"},
        }
        for r in RULES.values()
    ]
    results = [
        {
            "ruleId": f.code,
            "ruleIndex": codes.index(f.code),
            "level": "error",
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
                        "version": __version__,
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
