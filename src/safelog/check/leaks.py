"""
Leak shapes: expressions whose value carries customer content by
construction (``str(obj)``, ``repr()``, ``exc.args``, ``request.body``,
``json.dumps(...)``, ``vars(x)``, formatted tracebacks).
"""

from __future__ import annotations

import ast
import re

from collections.abc import Callable

from .walk import EXC, Scope


__all__ = ["leak_code", "scan"]

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
_OBJECT_REFS = (ast.Name, ast.Attribute, ast.Subscript)


def _terminal(node: ast.expr) -> str | None:
    """The last identifier of a name or attribute chain."""
    match node:
        case ast.Name(id=name) | ast.Attribute(attr=name):
            return name
    return None


def _is_request(node: ast.expr) -> bool:
    name = _terminal(node)
    return name is not None and _REQUEST_NAME.search(name) is not None


def _is_exception_name(node: ast.expr, scope: Scope) -> bool:
    return isinstance(node, ast.Name) and bool(scope.lookup(node.id) & EXC)


def _call_by_name(name: str, real: str, args: list[ast.expr]) -> str | None:
    if name == "str":
        # str() of an object (not of a computed value such as str(uuid4())
        # or str(len(x))).
        return "SL201" if args and isinstance(args[0], _OBJECT_REFS) else None
    if name in ("repr", "ascii"):
        return "SL202"
    if name in ("vars", "locals", "globals") or real in _DUMP_CALLS:
        return "SL205"
    if real in _TRACEBACK_FUNCS:
        return "SL204"
    if real in _SERIALISERS:
        return "SL206"
    return None


def _method_call(attr: str, base: ast.expr, args: list[ast.expr]) -> str | None:
    if attr == "errors" and not args:
        return "SL203"
    if attr in _TRACEBACK_FUNCS:
        return "SL204"
    if attr in _DUMP_CALLS or attr == "dict":
        return "SL205"
    if attr in _SERIALISERS or (
        attr == "dump" and isinstance(base, ast.Name) and base.id in _SERIALISER_MODULES
    ):
        return "SL206"
    if attr in ("json", "get_json", "get_data"):
        return "SL207"
    return None


def _attribute(attr: str, base: ast.expr, scope: Scope) -> str | None:
    if attr in _REQUEST_ATTRS and _is_request(base):
        return "SL207"
    if attr in ("json", "body"):
        return "SL207"
    if attr == "__dict__":
        return "SL205"
    if attr in ("args", "__notes__"):
        return "SL203"
    if attr in ("message", "strerror") and _is_exception_name(base, scope):
        return "SL203"
    return None


def leak_code(node: ast.AST, scope: Scope, aliases: dict[str, tuple[str, str]]) -> str | None:
    """The leak-shape code of *node* itself, if it is one."""
    match node:
        case ast.Call(func=ast.Name(id=name), args=args):
            origin = aliases.get(name)
            return _call_by_name(name, origin[1] if origin is not None else name, args)
        case ast.Call(func=ast.Attribute(attr=attr, value=base), args=args):
            return _method_call(attr, base, args)
        case ast.Attribute(attr=attr, value=base):
            return _attribute(attr, base, scope)
        case ast.Subscript(value=base, slice=ast.Constant(value=str() as key)):
            if key in ("body", "json"):
                return "SL207"
            if key in _REQUEST_ATTRS and _is_request(base):
                return "SL207"
        case ast.FormattedValue(conversion=conversion, value=value):
            if conversion == ord("r"):
                return "SL202"
            if _is_exception_name(value, scope):
                return "SL201"
    return None


def scan(
    root: ast.expr,
    scope: Scope,
    aliases: dict[str, tuple[str, str]],
    report: Callable[[ast.expr, str], None],
) -> None:
    """Report the outermost leak shapes anywhere inside *root*."""
    stack: list[ast.AST] = [root]
    while stack:
        node = stack.pop()
        code = leak_code(node, scope, aliases)
        if code is not None and isinstance(node, ast.expr):
            report(node, code)
            continue
        for name in node._fields:
            value = getattr(node, name, None)
            if type(value) is list:
                stack.extend(v for v in value if isinstance(v, ast.AST))
            elif isinstance(value, ast.AST):
                stack.append(value)
