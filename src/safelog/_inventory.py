"""
``safelog inventory``: everything a service's logs can contain, generated
from the field policy so it cannot drift from the code.

The policy comes from one of two places:

- ``[tool.safelog]`` in a ``pyproject.toml`` (``--pyproject PATH``, or the
  nearest one above the current directory), read with `safelog._pyproject`;
- a module that calls `safelog.configure` (``--module pkg.mod``), or a
  function or policy object in it (``--module pkg.mod:create_app``,
  ``--module pkg.mod:FIELDS``).

For a module, `safelog.configure` is *intercepted*, not run: while the
module is imported (and the named function called) ``configure`` is replaced
by a stand-in that records its arguments and then stops the code that called
it with a private `BaseException`. So nothing after ``configure`` runs (no
``app.run()``, no worker loop), no sink is created, no network is touched
and logging is never taken over. The rest of the module's import-time code
does run, as with ``python -m``; the CLI is its own short-lived process, so
that is as isolated as a subprocess would be.

Output is Markdown (a table per section, ready for a security page or a
vendor questionnaire) or JSON. Nothing here prints a logged value: the
inventory holds field names, kinds and constraints declared in code or
configuration, and fixed descriptions of the built-in keys.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import _options, _pyproject, _state
from ._context import BUILTIN_FIELDS
from ._keys import INPUTS, KEYS, REQUEST_FIELDS, BuiltinKey
from .errors import ConfigurationError
from .policy import FieldPolicy, Kind, metric_unit


__all__ = [
    "BUILTINS",
    "KIND_NOTES",
    "MARKERS",
    "RESERVED_INPUTS",
    "Builtin",
    "add_arguments",
    "from_module",
    "from_pyproject",
    "inventory",
    "main",
    "policy_from_module",
    "policy_from_pyproject",
    "render_json",
    "render_markdown",
    "run",
]


#: A key safelog itself puts into records (the table is `safelog._keys`).
Builtin = BuiltinKey

#: The built-in metadata, in the order keys appear in a record.
BUILTINS: tuple[Builtin, ...] = KEYS

#: Reserved keys a call may pass but that are consumed by the chain and never
#: emitted under their own name, or kept free for safelog's own use.
RESERVED_INPUTS: Mapping[str, str] = INPUTS

#: What a value of each built-in kind can be, for the "Kinds used" table.
KIND_NOTES: Mapping[str, str] = {
    "int": "An integer within the declared bounds.",
    "float": "A finite number within the declared bounds.",
    "duration": "A non-negative duration, as a number in the declared unit.",
    "bool": "true or false.",
    "enum": "One of the values declared in code; the declared value is emitted.",
    "id": "1 to max_length characters from [A-Za-z0-9._:-] (and the pattern, if declared).",
    "uuid": "A UUID in canonical form.",
    "hashed": "A keyed HMAC-SHA256 pseudonym with the key's id; not reversible without the key.",
    "http_status": "An HTTP status code, 100 to 599.",
    "http_method": "A standard HTTP method.",
    "route": "One of the declared route templates; never a raw path.",
}
_CUSTOM_NOTE = "A custom kind: the service's own code decides what passes."

#: Fixed texts that replace a value, and what each means.
MARKERS: tuple[tuple[str, str], ...] = (
    ("<rejected:KIND>", "A declared field's value failed its kind (e.g. `<rejected:int>`)."),
    ("<non-constant-event>", "The event was built at runtime, not a literal of the code."),
    ("<runtime-logger-name>", "The logger name was built at runtime."),
    ("<unrenderable>", "A value could not be rendered as JSON (custom kinds only)."),
    ("<unknown>", "In an error record: a name that does not look like a name of code."),
    ("<not-a-field>", "In a pydantic error location: a part that is not a declared field."),
    ("<safelog-internal-error>", "A safelog stage failed; the trusted keys still went out."),
)


def inventory(
    policy: FieldPolicy,
    *,
    source: str | None = None,
    service: str | None = None,
) -> dict[str, Any]:
    """
    The inventory of *policy* as JSON-compatible data: declared fields
    (sorted by name), the kinds they use, built-in metadata, reserved keys
    and markers.
    """
    fields: list[dict[str, Any]] = [
        {
            "name": name,
            "kind": kind.kind_name,
            "constraints": {**kind.constraints(), **_metric_marks(kind)},
            "purpose": kind.purpose,
        }
        for name, kind in sorted(policy.kinds.items())
    ]
    used = sorted({kind.kind_name for kind in policy.kinds.values()})
    return {
        "source": source,
        "service": service,
        "fields": fields,
        "kinds": [{"kind": k, "values": KIND_NOTES.get(k, _CUSTOM_NOTE)} for k in used],
        "metadata": [
            {"name": b.name, "present": b.present, "description": b.description} for b in BUILTINS
        ],
        "request_fields": [
            {"name": name, "kind": _request_kind(name), "description": description}
            for name, description in REQUEST_FIELDS.items()
        ],
        "reserved": [{"name": k, "description": v} for k, v in sorted(RESERVED_INPUTS.items())],
        "markers": [{"marker": m, "meaning": d} for m, d in MARKERS],
    }


def _request_kind(name: str) -> str:
    # The kind a call's value under this name must pass (None: only the
    # integration sets it).
    kind = BUILTIN_FIELDS.get(name)
    return "set by the integration only" if kind is None else kind.kind_name


def _metric_marks(kind: Kind) -> dict[str, Any]:
    # What leaves as a CloudWatch metric or dimension (docs/metrics.md).
    marks: dict[str, Any] = {}
    unit = metric_unit(kind)
    if unit is not None:
        marks["metric"] = unit
    if kind.dimension:
        marks["dimension"] = True
    return marks


def render_json(inv: Mapping[str, Any]) -> str:
    """The inventory as indented JSON, with a trailing newline."""
    return json.dumps(inv, indent=2, ensure_ascii=False) + "\n"


def _cell(text: str) -> str:
    # One table cell: no line breaks, no column separators.
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _constraints(constraints: Mapping[str, Any]) -> str:
    if not constraints:
        return "-"
    parts = [
        _code(f"{k}={json.dumps(v, ensure_ascii=False, separators=(',', ':'))}")
        for k, v in constraints.items()
    ]
    return _cell(", ".join(parts))


def render_markdown(inv: Mapping[str, Any]) -> str:
    """The inventory as Markdown: one table per section."""
    lines: list[str] = []
    intro = "Every key a log record of"
    intro += f" service {_code(inv['service'])}" if inv.get("service") else " this service"
    intro += " can contain. Nothing else leaves the process: undeclared keys are counted "
    intro += "in `dropped`, never named."
    lines += [intro, ""]
    if inv.get("source"):
        lines += [f"Policy: {_code(inv['source'])}", ""]
    lines += ["## Declared fields", ""]
    if inv["fields"]:
        lines += ["| Field | Kind | Constraints | Purpose |", "|---|---|---|---|"]
        for f in inv["fields"]:
            purpose = _cell(f["purpose"]) if f["purpose"] else "-"
            lines.append(
                f"| {_code(f['name'])} | {f['kind']} | {_constraints(f['constraints'])} "
                f"| {purpose} |"
            )
        lines += ["", "## Kinds used", "", "| Kind | Values it lets through |", "|---|---|"]
        lines += [f"| {k['kind']} | {_cell(k['values'])} |" for k in inv["kinds"]]
    else:
        lines.append("No fields are declared: records carry the built-in metadata only.")
    lines += [
        "",
        "## Built-in metadata",
        "",
        "| Key | Present | Why it is safe |",
        "|---|---|---|",
    ]
    lines += [
        f"| {_code(m['name'])} | {m['present']} | {_cell(m['description'])} |"
        for m in inv["metadata"]
    ]
    lines += [
        "",
        "## Request fields (framework integrations)",
        "",
        "| Key | Kind | What it holds |",
        "|---|---|---|",
    ]
    lines += [
        f"| {_code(r['name'])} | {r['kind']} | {_cell(r['description'])} |"
        for r in inv["request_fields"]
    ]
    lines += ["", "## Reserved keys", "", "| Key | Use |", "|---|---|"]
    lines += [f"| {_code(r['name'])} | {_cell(r['description'])} |" for r in inv["reserved"]]
    lines += ["", "## Markers", "", "| Marker | Meaning |", "|---|---|"]
    lines += [f"| {_code(m['marker'])} | {_cell(m['meaning'])} |" for m in inv["markers"]]
    return "\n".join(lines) + "\n"


# -- where the policy comes from -------------------------------------------


def _display_path(path: Path) -> str:
    # Relative to the working directory when possible: stable across machines
    # and free of home-directory names.
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:  # not below the working directory
        return path.as_posix()


def policy_from_pyproject(
    path: str | os.PathLike[str] | None = None,
) -> tuple[FieldPolicy, str, str | None]:
    """
    The policy of ``[tool.safelog]`` in *path* (default: search from cwd),
    with where it came from and the service name it declares.
    """
    found = _pyproject.load(None if path is None else Path(path))
    if found is None:
        msg = "pyproject: no pyproject.toml with a [tool.safelog] table was found"
        raise ConfigurationError(msg)
    service = found.options.get("service")
    return (
        found.fields,
        _display_path(found.path),
        service if isinstance(service, str) else None,
    )


def from_pyproject(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The inventory of ``[tool.safelog]`` in *path* (default: search from cwd)."""
    policy, source, service = policy_from_pyproject(path)
    return inventory(policy, source=source, service=service)


class _ConfigureCalled(BaseException):
    # A BaseException so a service's `except Exception` cannot swallow it and
    # carry on starting up.
    pass


@contextmanager
def _intercepted_configure(calls: list[dict[str, Any]]) -> Iterator[None]:
    def record(kwargs: dict[str, Any]) -> None:
        calls.append(kwargs)
        raise _ConfigureCalled

    with _state.intercepting(record):
        yield


def _policy_from_call(kwargs: Mapping[str, Any]) -> tuple[FieldPolicy, str | None, str | None]:
    """Resolve the fields a configure() call would use, exactly as configure does."""
    fields = kwargs.get("fields")
    service = kwargs.get("service")
    pyproject = kwargs.get("pyproject", False)
    source: str | None = None
    file_options: Mapping[str, Any] = {}
    if pyproject is not False and pyproject is not None:
        found = _pyproject.load(None if pyproject is True else Path(pyproject))
        if found is None:
            msg = "pyproject: no pyproject.toml with a [tool.safelog] table was found"
            raise ConfigurationError(msg)
        file_options = found.options
        if fields is None:
            fields = found.fields
            source = _display_path(found.path)
    if service is None:
        service = file_options.get("service")
    return (
        _options.resolve_policy(fields),
        source,
        service if isinstance(service, str) else None,
    )


def from_module(spec: str) -> dict[str, Any]:
    """
    The inventory of the policy a module configures.

    *spec* is ``pkg.mod`` (the module calls `safelog.configure` while it is
    imported), ``pkg.mod:func`` (calling ``func()`` with no arguments calls
    it) or ``pkg.mod:NAME`` (a `FieldPolicy` or a mapping of field names to
    kinds).
    """
    policy, source, service = policy_from_module(spec)
    return inventory(policy, source=source, service=service)


def policy_from_module(spec: str) -> tuple[FieldPolicy, str, str | None]:
    """
    The policy a module configures (see `from_module` for *spec*), with
    where it came from and the service name, if the call gave one.
    """
    module_name, _, attr = spec.partition(":")
    if not module_name or (":" in spec and not attr):
        msg = "module: must be 'pkg.mod', 'pkg.mod:function' or 'pkg.mod:POLICY'"
        raise ConfigurationError(msg)
    calls: list[dict[str, Any]] = []
    with _intercepted_configure(calls):
        try:
            module = importlib.import_module(module_name)
        except _ConfigureCalled:
            module = None
        except ImportError:
            msg = f"module: cannot import {module_name}"
            raise ConfigurationError(msg) from None
        except Exception as exc:  # noqa: BLE001 -- any failure of the user's import
            # The type only: an exception message can hold anything.
            msg = f"module: importing {module_name} raised {type(exc).__name__}"
            raise ConfigurationError(msg) from None
        if not calls and attr:
            if module is None or not hasattr(module, attr):
                msg = f"module: {module_name} has no attribute {attr}"
                raise ConfigurationError(msg)
            target = getattr(module, attr)
            if isinstance(target, FieldPolicy):
                return target, spec, None
            if isinstance(target, Mapping):
                return FieldPolicy(target), spec, None
            if not callable(target):
                msg = f"module: {spec} is neither a function nor a field policy"
                raise ConfigurationError(msg)
            _call(target, spec)
    if not calls:
        msg = (
            f"module: {spec} did not call safelog.configure; name the function that "
            "does (pkg.mod:create_app) or the policy object (pkg.mod:FIELDS)"
        )
        raise ConfigurationError(msg)
    policy, file_source, service = _policy_from_call(calls[0])
    return policy, file_source or spec, service


def _call(target: Callable[[], object], spec: str) -> None:
    try:
        target()
    except _ConfigureCalled:
        return
    except Exception as exc:  # noqa: BLE001 -- any failure of the user's function
        # The type only: an exception message can hold anything.
        msg = f"module: calling {spec} raised {type(exc).__name__}"
        raise ConfigurationError(msg) from None


# -- command line ------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``inventory`` options to *parser* (a subcommand's parser)."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--pyproject",
        metavar="PATH",
        help="a pyproject.toml with [tool.safelog] (default: the nearest one above the "
        "current directory)",
    )
    source.add_argument(
        "--module",
        metavar="MODULE[:NAME]",
        help="import MODULE (or call MODULE:NAME) with safelog.configure intercepted, "
        "or read the policy object MODULE:NAME",
    )
    parser.add_argument(
        "--format",
        choices=("markdown", "json"),
        default="markdown",
        help="output format (default: markdown)",
    )
    parser.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write to FILE instead of standard output",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``safelog inventory``; 0 on success, 2 if the policy cannot be read."""
    try:
        if args.module:
            # As `python -m` does: modules of the current directory import.
            cwd = str(Path.cwd())
            if "" not in sys.path and cwd not in sys.path:
                sys.path.insert(0, cwd)
            inv = from_module(args.module)
        else:
            inv = from_pyproject(args.pyproject)
    except ConfigurationError as exc:
        sys.stderr.write(f"safelog inventory: {exc}\n")
        return 2
    text = render_json(inv) if args.format == "json" else render_markdown(inv)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``safelog inventory`` on its own (the CLI registers it as a subcommand)."""
    parser = argparse.ArgumentParser(
        prog="safelog inventory",
        description="Print everything the logs can contain: declared fields and built-in metadata.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
