"""
Judging the calls a `Walker` collected: which are log calls (or add fields),
and what in them is a finding.
"""

from __future__ import annotations

import ast

from collections.abc import Callable, Collection

from .leaks import scan
from .walk import CONST, EXC, IMPORT, Scope, Walker, value_kind


__all__ = ["ConstantLookup", "Judge"]

_LEVEL_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log", "msg"}
)
# log.metric() (safelog's metric-only records, docs/metrics.md) takes an event
# and fields exactly as a level method does.
_RECORD_METHODS = _LEVEL_METHODS | {"metric"}
_LOG_METHODS = _RECORD_METHODS | frozenset("a" + m for m in _RECORD_METHODS)
_BIND_METHODS = frozenset({"bind", "new"})
# Factories whose keyword arguments become bound context (fields).
_FIELD_FACTORIES = frozenset({"get_logger", "wrap_logger"})
_LOGGING_FUNCS = _LEVEL_METHODS - {"msg"}
# Keywords of a log call that are not fields.
_NOT_FIELDS = frozenset({"exc_info", "stack_info", "stacklevel", "extra"})

#: (module, relative import level, name) -> whether that module binds the
#: name only to string literals at module level (None: module not found).
ConstantLookup = Callable[[str, int, str], bool]

#: (line, column, code, line of the call)
Found = tuple[int, int, str, int]


class Judge:
    """Judges every call of one walked module; findings end up in `found`."""

    def __init__(
        self,
        walker: Walker,
        fields: Collection[str] | None,
        constants: ConstantLookup | None = None,
    ) -> None:
        self.w = walker
        self.fields = fields
        self.constants = constants
        self.found: list[Found] = []
        self.log_call_lines: set[int] = set()
        #: Events that are string constants (for ``safelog audit --source``).
        self.events: set[str] = set()

    def run(self) -> None:
        in_file = self._configured_fields()
        if in_file is not None:
            self.fields = in_file
        for call, scope in self.w.calls:
            self._judge(call, scope)

    def _is_safelog(self, func: ast.expr, name: str) -> bool:
        match func:
            case ast.Attribute(attr=attr, value=ast.Name(id=module)):
                return attr == name and self.w.module_aliases.get(module) == "safelog"
            case ast.Name(id=local):
                return self.w.func_aliases.get(local) == ("safelog", name)
        return False

    def _configured_fields(self) -> frozenset[str] | None:
        """
        The field names given to ``safelog.configure(fields=...)`` in this
        file, if every such call names them statically (a dict literal, or a
        module-level name bound once to one); else None.
        """
        found: set[str] = set()
        seen = False
        for call, _ in self.w.calls:
            if not self._is_safelog(call.func, "configure"):
                continue
            given = next((kw.value for kw in call.keywords if kw.arg == "fields"), None)
            if given is None:
                continue
            seen = True
            value = self.w.module_dicts.get(given.id) if isinstance(given, ast.Name) else given
            if not isinstance(value, ast.Dict):
                return None
            for key in value.keys:
                match key:
                    case ast.Constant(value=str() as name):
                        found.add(name)
                    case _:
                        return None
        return frozenset(found) if seen else None

    def _judge(self, call: ast.Call, scope: Scope) -> None:
        w = self.w
        match call.func:
            case ast.Attribute(attr=method, value=base):
                if method in _LOG_METHODS:
                    if w.is_logger(base):
                        self._log_call(call, method, scope)
                elif method in _BIND_METHODS:
                    if w.is_logger(base):
                        self._fields_call(call, scope)
                elif method == "bind_contextvars" or method in _FIELD_FACTORIES:
                    self._fields_call(call, scope)
            case ast.Name(id=local):
                origin = w.func_aliases.get(local)
                if origin is None:
                    return
                module, name = origin
                if module == "logging" and name in _LOGGING_FUNCS:
                    self._log_call(call, name, scope)
                elif name == "bind_contextvars" or (
                    name in _FIELD_FACTORIES
                    and module.partition(".")[0] in ("structlog", "safelog")
                ):
                    self._fields_call(call, scope)

    def _add(self, node: ast.expr | ast.keyword, code: str, anchor: int) -> None:
        self.found.append((node.lineno, node.col_offset, code, anchor))

    def _scan(self, node: ast.expr, scope: Scope, anchor: int) -> None:
        scan(node, scope, self.w.func_aliases, lambda n, code: self._add(n, code, anchor))

    def _log_call(self, call: ast.Call, method: str, scope: Scope) -> None:
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
            else:
                self._collect_event(event)
        for arg in args[index + 1 :]:
            self._positional(arg, scope, anchor)
        for kw in call.keywords:
            name = kw.arg
            if event_kw is not None and name == event_kw:
                continue
            if name == "extra":
                self._extra(kw.value, scope, anchor)
            elif name not in _NOT_FIELDS:
                self._keyword(kw, scope, anchor)

    def _positional(self, arg: ast.expr, scope: Scope, anchor: int) -> None:
        """
        A %-argument: never formatted into the message by safelog, only
        counted as dropped. What it points at cannot leak, so a leak shape
        here is a note (SL107 for an exception, SL108 for the rest).
        """
        if isinstance(arg, ast.Name) and scope.lookup(arg.id) & EXC:
            self._add(arg, "SL107", anchor)
            return
        found: list[ast.expr] = []
        scan(arg, scope, self.w.func_aliases, lambda n, _code: found.append(n))
        for node in found:
            self._add(node, "SL108", anchor)

    def _fields_call(self, call: ast.Call, scope: Scope) -> None:
        anchor = call.lineno
        self.log_call_lines.add(anchor)
        for kw in call.keywords:
            self._keyword(kw, scope, anchor)

    def _keyword(self, kw: ast.keyword, scope: Scope, anchor: int) -> None:
        fields = self.fields
        if kw.arg is not None:
            if fields is not None and kw.arg not in fields:
                self._add(kw, "SL301", anchor)
            self._scan(kw.value, scope, anchor)
            return
        value = kw.value
        if not isinstance(value, ast.Dict) or not all(
            isinstance(k, ast.Constant) and type(k.value) is str for k in value.keys
        ):
            self._add(kw, "SL208", anchor)
            return
        for k, v in zip(value.keys, value.values, strict=True):
            if fields is not None and isinstance(k, ast.Constant) and k.value not in fields:
                self._add(k, "SL301", anchor)
            self._scan(v, scope, anchor)

    def _extra(self, value: ast.expr, scope: Scope, anchor: int) -> None:
        match value:
            case ast.Dict(keys=keys, values=values):
                for k, v in zip(keys, values, strict=True):
                    match k:
                        case None:
                            self._add(v, "SL208", anchor)
                            continue
                        case ast.Constant(value=str(key)):
                            # The bridge runs extra= through the policy, as keywords.
                            if self.fields is None or key not in self.fields:
                                self._add(k, "SL302", anchor)
                        case _:
                            self._add(k, "SL208", anchor)
                    self._scan(v, scope, anchor)
            case ast.Call(func=ast.Name(id="dict"), args=[], keywords=keywords):
                for kw in keywords:
                    if kw.arg is None:
                        self._add(kw, "SL208", anchor)
                        continue
                    if self.fields is None or kw.arg not in self.fields:
                        self._add(kw, "SL302", anchor)
                    self._scan(kw.value, scope, anchor)
            case _:
                self._add(value, "SL208", anchor)

    def _collect_event(self, node: ast.expr) -> None:
        """Record the text of an event that is a constant of this module."""
        match node:
            case ast.Constant(value=str(text)):
                self.events.add(text)
            case ast.JoinedStr(values=values):
                # No placeholders (else it is SL101): the parts are literals.
                self.events.add(
                    "".join(
                        v.value
                        for v in values
                        if isinstance(v, ast.Constant) and isinstance(v.value, str)
                    )
                )
            case ast.IfExp(body=body, orelse=orelse):
                self._collect_event(body)
                self._collect_event(orelse)
            case ast.Name(id=name):
                bound = self.w.module_strs.get(name)
                if bound is not None:
                    self.events.add(bound)

    def _event_code(self, node: ast.expr, scope: Scope) -> str | None:
        match node:
            case ast.Constant(value=value):
                return None if type(value) is str else "SL105"
            case ast.JoinedStr():
                return "SL101" if value_kind(node) != CONST else None
            case ast.BinOp(op=op):
                if value_kind(node) == CONST:
                    # "constant " + "folding": one constant once compiled.
                    return None
                if isinstance(op, ast.Mod):
                    return "SL102"
                return "SL104" if isinstance(op, ast.Add) else "SL105"
            case ast.Call(func=ast.Attribute(attr="format")):
                return "SL103"
            case ast.Call(func=ast.Attribute(attr="join")):
                return "SL104"
            case ast.Name(id=name):
                kind = scope.lookup(name)
                if kind & EXC:
                    return "SL106"
                if kind == CONST or (kind == IMPORT and self._imported_constant(name)):
                    return None
                return "SL105"
            case ast.Attribute(attr=attr, value=base):
                if self.w.attr_kinds.get(attr) == CONST or (
                    isinstance(base, ast.Name)
                    and scope.lookup(base.id) == IMPORT
                    and self._module_constant(base.id, attr)
                ):
                    return None
                return "SL105"
            case ast.IfExp(body=body, orelse=orelse):
                return self._event_code(body, scope) or self._event_code(orelse, scope)
        return "SL105"

    def _imported_constant(self, local: str) -> bool:
        """
        ``from app.events import PAGE_EXPORTED``, the name bound by that
        import only: a module-level string constant of that module?
        """
        origin = self.w.func_aliases.get(local)
        if origin is None or self.constants is None:
            return False
        module, name = origin
        return self.constants(module, self.w.import_levels.get(local, 0), name)

    def _module_constant(self, local: str, attr: str) -> bool:
        """``events.PAGE_EXPORTED`` where ``events`` is an imported module."""
        if self.constants is None:
            return False
        module = self.w.module_aliases.get(local)
        if module is not None:
            return self.constants(module, 0, attr)
        origin = self.w.func_aliases.get(local)
        if origin is None:
            return False
        # ``from app import events``: events may be a submodule of app.
        package, sub = origin
        dotted = f"{package}.{sub}" if package else sub
        return self.constants(dotted, self.w.import_levels.get(local, 0), attr)
