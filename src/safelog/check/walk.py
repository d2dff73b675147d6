"""
The one walk over a parsed module: name bindings, imports, loggers, calls.

A cheap regular expression (in `safelog.check.files`) first finds the lines
that can hold a log call; expressions of statements that hold none are not
entered, but assignments are still read, so name bindings stay complete.
Calls are collected here and judged afterwards (`safelog.check.judge`), when
every binding of the file is known.
"""

from __future__ import annotations

import ast
import bisect
import re

from collections.abc import Iterable
from typing import Any


__all__ = ["CONST", "EXC", "IMPORT", "OTHER", "Scope", "Walker", "folded_string", "value_kind"]

# Binding kinds of a name in a scope (a name bound several ways has several).
CONST = 1  # bound to a string literal
EXC = 2  # bound by ``except ... as name``
OTHER = 4
IMPORT = 8  # bound by an import

# The compiler folds "a" + "b" into one constant up to this many characters
# (CPython's MAX_STR_SIZE in its AST optimiser).
_MAX_FOLDED = 4096

_FACTORIES = frozenset({"getLogger", "get_logger", "wrap_logger", "LoggerAdapter"})
# Methods of a logger that return a logger.
_CHAIN_METHODS = frozenset({"bind", "new", "unbind", "try_unbind", "opt", "getChild"})
_LOGGER_NAME = re.compile(r"(?:^|_)(?:log|logger)\Z", re.IGNORECASE)


class Scope:
    """The names bound in one function, class or module body, and their kinds."""

    __slots__ = ("bindings", "is_class", "parent")

    def __init__(self, parent: Scope | None, *, is_class: bool = False) -> None:
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


def folded_string(node: ast.expr | None) -> str | None:
    """The constant string *node* compiles to (a literal, or literals added), else None."""
    match node:
        case ast.Constant(value=str() as text):
            return text
        case ast.JoinedStr(values=values) if not any(
            isinstance(v, ast.FormattedValue) for v in values
        ):
            # An f-string without placeholders is compiled to a plain literal.
            return "".join(str(v.value) for v in values if isinstance(v, ast.Constant))
        case ast.BinOp(left=left, op=ast.Add(), right=right):
            a, b = folded_string(left), folded_string(right)
            if a is not None and b is not None and len(a) + len(b) <= _MAX_FOLDED:
                return a + b
    return None


def value_kind(node: ast.expr | None) -> int:
    """`CONST` if *node* is a string the compiler makes a constant, else `OTHER`."""
    match node:
        case ast.IfExp(body=body, orelse=orelse):
            return CONST if value_kind(body) | value_kind(orelse) == CONST else OTHER
        case _ if folded_string(node) is not None:
            return CONST
    return OTHER


class Walker:
    """Walks one parsed module once, collecting what the judge needs."""

    def __init__(self, lines: list[int] | None) -> None:
        # Sorted candidate line numbers; None means walk every expression.
        self.lines = lines
        self.module_aliases: dict[str, str] = {}
        #: local name -> (module, name) of ``from module import name``
        self.func_aliases: dict[str, tuple[str, str]] = {}
        #: local name -> the relative level of that import (0: absolute)
        self.import_levels: dict[str, int] = {}
        self.logger_names: set[str] = set()
        self.logger_attrs: set[str] = set()
        self.attr_kinds: dict[str, int] = {}
        self.assignments: list[tuple[ast.Name | ast.Attribute, ast.expr]] = []
        self.calls: list[tuple[ast.Call, Scope]] = []
        # Module-level ``NAME = {...}``: a policy given to configure() by name.
        self.module_dicts: dict[str, ast.Dict | None] = {}
        # Module-level ``NAME = "text"`` bound once: an event given by name
        # (``safelog audit --source`` collects it).
        self.module_strs: dict[str, str | None] = {}
        self.module_scope = Scope(None)

    def run(self, tree: ast.Module) -> None:
        self._body(tree.body, self.module_scope)
        self._resolve_loggers()

    def _wanted(self, node: ast.stmt | ast.expr) -> bool:
        lines = self.lines
        if lines is None:
            return True
        lo = node.lineno
        i = bisect.bisect_left(lines, lo)
        return i < len(lines) and lines[i] <= (node.end_lineno or lo)

    def _body(self, body: Iterable[ast.stmt], scope: Scope) -> None:
        for stmt in body:
            self._stmt(stmt, scope)

    def _exprs(self, nodes: Iterable[ast.expr | None], scope: Scope) -> None:
        for node in nodes:
            if node is not None and self._wanted(node):
                self._expr(node, scope)

    def _stmt(self, stmt: ast.stmt, scope: Scope) -> None:
        """
        Bind and enter one statement. One ``case`` per statement type, so
        the function is long by nature, each arm a few lines.
        """
        match stmt:
            case ast.Expr(value=value) | ast.Return(value=value):
                if value is not None and self._wanted(stmt):
                    self._expr(value, scope)
            case ast.Assign(targets=targets, value=value):
                kind = value_kind(value)
                if scope.parent is None:
                    for target in targets:
                        if isinstance(target, ast.Name):
                            # Bound twice: no longer known statically.
                            known = target.id not in self.module_dicts
                            dict_value = value if isinstance(value, ast.Dict) else None
                            self.module_dicts[target.id] = dict_value if known else None
                            once = target.id not in self.module_strs
                            text = value.value if isinstance(value, ast.Constant) else None
                            self.module_strs[target.id] = (
                                text if once and type(text) is str else None
                            )
                for target in targets:
                    self._bind_target(target, kind, scope, value)
                if self._wanted(stmt):
                    self._expr(value, scope)
            case ast.AnnAssign(target=target, value=value):
                kind = value_kind(value) if value is not None else OTHER
                self._bind_target(target, kind, scope, value)
                if value is not None and self._wanted(stmt):
                    self._expr(value, scope)
            case ast.AugAssign(target=target, value=value):
                self._bind_target(target, OTHER, scope, value)
                if self._wanted(stmt):
                    self._expr(value, scope)
            case ast.FunctionDef() | ast.AsyncFunctionDef():
                scope.bind(stmt.name, OTHER)
                if self._wanted(stmt):
                    args = stmt.args
                    self._exprs((*stmt.decorator_list, *args.defaults, *args.kw_defaults), scope)
                inner = Scope(scope)
                self._bind_args(stmt.args, inner)
                self._body(stmt.body, inner)
            case ast.ClassDef(name=name, body=body):
                scope.bind(name, OTHER)
                if self._wanted(stmt):
                    self._exprs((*stmt.decorator_list, *stmt.bases), scope)
                inner = Scope(scope, is_class=True)
                self._body(body, inner)
                # Class attributes are read as Cls.NAME / self.NAME anywhere.
                for attr, kind in inner.bindings.items():
                    self.attr_kinds[attr] = self.attr_kinds.get(attr, 0) | kind
            case (
                ast.If(test=test, body=body, orelse=orelse)
                | ast.While(test=test, body=body, orelse=orelse)
            ):
                self._exprs((test,), scope)
                self._body(body, scope)
                self._body(orelse, scope)
            case (
                ast.For(target=target, iter=it, body=body, orelse=orelse)
                | ast.AsyncFor(target=target, iter=it, body=body, orelse=orelse)
            ):
                self._bind_target(target, OTHER, scope, None)
                self._exprs((it,), scope)
                self._body(body, scope)
                self._body(orelse, scope)
            case ast.With(items=items, body=body) | ast.AsyncWith(items=items, body=body):
                for item in items:
                    if item.optional_vars is not None:
                        self._bind_target(item.optional_vars, OTHER, scope, None)
                    self._exprs((item.context_expr,), scope)
                self._body(body, scope)
            case ast.Try(body=body, handlers=handlers, orelse=orelse, finalbody=final):
                self._try(body, handlers, orelse, final, scope)
            case ast.Import(names=names):
                for alias in names:
                    if alias.asname:
                        self.module_aliases[alias.asname] = alias.name
                        scope.bind(alias.asname, IMPORT)
                    else:
                        top = alias.name.partition(".")[0]
                        self.module_aliases[top] = top
                        scope.bind(top, IMPORT)
            case ast.ImportFrom(module=module, names=names, level=level):
                for alias in names:
                    local = alias.asname or alias.name
                    self.func_aliases[local] = (module or "", alias.name)
                    self.import_levels[local] = level or 0
                    scope.bind(local, IMPORT)
            case ast.Match(subject=subject, cases=cases):
                self._exprs((subject,), scope)
                for case in cases:
                    for node in ast.walk(case.pattern):
                        for attr in ("name", "rest"):
                            bound = getattr(node, attr, None)
                            if type(bound) is str:
                                scope.bind(bound, OTHER)
                    self._exprs((case.guard,), scope)
                    self._body(case.body, scope)
            case _ if type(stmt).__name__ == "TryStar":
                # ast.TryStar exists from Python 3.11 on: read by its fields.
                star: Any = stmt
                self._try(star.body, star.handlers, star.orelse, star.finalbody, scope)
            case _ if self._wanted(stmt):
                # Raise, Assert, Delete, ...: expressions only.
                for name in stmt._fields:
                    value = getattr(stmt, name, None)
                    if isinstance(value, ast.expr):
                        self._expr(value, scope)

    def _try(
        self,
        body: list[ast.stmt],
        handlers: list[ast.ExceptHandler],
        orelse: list[ast.stmt],
        final: list[ast.stmt],
        scope: Scope,
    ) -> None:
        self._body(body, scope)
        for handler in handlers:
            if handler.name:
                scope.bind(handler.name, EXC)
            self._body(handler.body, scope)
        self._body(orelse, scope)
        self._body(final, scope)

    def _bind_args(self, args: ast.arguments, scope: Scope) -> None:
        for a in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            scope.bind(a.arg, OTHER)
        if args.vararg is not None:
            scope.bind(args.vararg.arg, OTHER)
        if args.kwarg is not None:
            scope.bind(args.kwarg.arg, OTHER)

    def _bind_target(
        self, target: ast.expr, kind: int, scope: Scope, value: ast.expr | None
    ) -> None:
        match target:
            case ast.Name(id=name):
                scope.bind(name, kind)
                if isinstance(value, ast.Call | ast.Name | ast.Attribute):
                    self.assignments.append((target, value))
            case ast.Attribute(attr=attr):
                self.attr_kinds[attr] = self.attr_kinds.get(attr, 0) | kind
                if isinstance(value, ast.Call | ast.Name | ast.Attribute):
                    self.assignments.append((target, value))
            case ast.Tuple(elts=elts) | ast.List(elts=elts):
                for elt in elts:
                    self._bind_target(elt, OTHER, scope, None)
            case ast.Starred(value=inner):
                self._bind_target(inner, OTHER, scope, None)

    def _expr(self, root: ast.expr, scope: Scope) -> None:
        stack: list[tuple[ast.AST, Scope]] = [(root, scope)]
        pop, push = stack.pop, stack.append
        AST = ast.AST  # noqa: N806 -- a local for the hot loop
        while stack:
            node, sc = pop()
            match node:
                case ast.Call():
                    self.calls.append((node, sc))
                case ast.Lambda(args=args, body=body):
                    inner = Scope(sc)
                    self._bind_args(args, inner)
                    push((body, inner))
                    continue
                case ast.NamedExpr(target=target, value=assigned):
                    self._bind_target(target, value_kind(assigned), sc, assigned)
                case ast.comprehension(target=target):
                    self._bind_target(target, OTHER, sc, None)
            for name in node._fields:
                child = getattr(node, name, None)
                if type(child) is list:
                    for v in child:
                        if isinstance(v, AST):
                            push((v, sc))
                elif isinstance(child, AST):
                    push((child, sc))

    # -- loggers ------------------------------------------------------------------

    def _resolve_loggers(self) -> None:
        # Iterate to a fixed point: ``a = logger; b = a`` in any order.
        pending = self.assignments
        changed = True
        while changed and pending:
            changed = False
            rest = []
            for target, value in pending:
                if self.is_logger(value):
                    if isinstance(target, ast.Name):
                        self.logger_names.add(target.id)
                    else:
                        self.logger_attrs.add(target.attr)
                    changed = True
                else:
                    rest.append((target, value))
            pending = rest

    def factory(self, func: ast.expr) -> str | None:
        """The factory name if *func* is a logger factory, else None."""
        match func:
            case ast.Name(id=name):
                origin = self.func_aliases.get(name)
                real = origin[1] if origin is not None else name
                return real if real in _FACTORIES else None
            case ast.Attribute(attr=attr) if attr in _FACTORIES:
                return attr
        return None

    def is_logger(self, node: ast.expr) -> bool:
        """Whether *node* is, by its name or how it was made, a logger."""
        match node:
            case ast.Name(id=name):
                return (
                    name in self.logger_names
                    or _LOGGER_NAME.search(name) is not None
                    or self.module_aliases.get(name) == "logging"
                )
            case ast.Attribute(attr=attr, value=base):
                if attr in self.logger_attrs or _LOGGER_NAME.search(attr) is not None:
                    return True
                return (
                    attr == "root"
                    and isinstance(base, ast.Name)
                    and self.module_aliases.get(base.id) == "logging"
                )
            case ast.Call(func=func):
                if self.factory(func) is not None:
                    return True
                return (
                    isinstance(func, ast.Attribute)
                    and func.attr in _CHAIN_METHODS
                    and self.is_logger(func.value)
                )
        return False
