"""
The field policy as data: ``[tool.safelog]`` in ``pyproject.toml``.

Keeping the policy in one file lets `safelog.configure`, ``safelog check``
(field names it may see in log calls) and ``safelog inventory`` (what the
logs can contain) all read the same list, so none of them can drift::

    [tool.safelog]
    service = "exporter"          # any configure() option that is a plain value
    level = "INFO"

    [tool.safelog.fields]
    page_count = { kind = "int", min = 0, purpose = "pages in the export" }
    status     = { kind = "enum", values = ["ok", "failed"] }
    request_id = "id"             # shorthand: a kind with no options
    tenant     = { kind = "hashed", purpose = "which customer, pseudonymised" }
    route      = { kind = "route", templates = ["/pages/{page_id}"] }

Kind names are the ``kind_name`` of each kind (``int``, ``float``, ``bool``,
``enum``, ``id``, ``hashed``, ``uuid``, ``duration``, ``http_status``,
``http_method``, ``route``). Options are the kind's keyword arguments;
``values`` (enum) and ``templates`` (route) are its positional ones.
"""

from __future__ import annotations

import os
import sys

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .policy import KINDS, ConfigurationError, FieldPolicy, Kind


if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover -- exercised on 3.10 only
    import tomli as tomllib


__all__ = ["PolicyFile", "find_pyproject", "kind_from_spec", "load"]

#: configure() options that may come from the file (plain values only).
FILE_OPTIONS = frozenset(
    {
        "service",
        "environment",
        "level",
        "console",
        "foreign_handlers",
        "shutdown_timeout",
        "stdio",
        "metrics_namespace",
        "buffer_level",
        "buffer_max_bytes",
        "buffer_max_records",
        "sampling_rate",
    }
)
_POSITIONAL = {"enum": "values", "route": "templates"}


@dataclass(frozen=True)
class PolicyFile:
    """What ``[tool.safelog]`` declares."""

    path: Path
    fields: FieldPolicy
    options: Mapping[str, Any] = field(default_factory=dict)


def find_pyproject(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` at or above *start* (default: cwd)."""
    here = Path(start) if start is not None else Path.cwd()
    if here.is_file():
        return here
    for d in (here, *here.parents):
        candidate = d / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def kind_from_spec(name: str, spec: object) -> Kind:
    """Build the kind for field *name* from its TOML value."""
    if isinstance(spec, str):
        spec = {"kind": spec}
    if not isinstance(spec, Mapping):
        msg = f"[tool.safelog.fields] {name}: must be a kind name or a table with 'kind'"
        raise ConfigurationError(msg)
    options = dict(spec)
    kind_name = options.pop("kind", None)
    cls = KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if cls is None:
        known = ", ".join(sorted(KINDS))
        msg = f"[tool.safelog.fields] {name}: 'kind' must be one of {known}"
        raise ConfigurationError(msg)
    args: list[Any] = []
    positional = _POSITIONAL.get(kind_name)
    if positional is not None:
        values = options.pop(positional, None)
        if not isinstance(values, list):
            msg = f"[tool.safelog.fields] {name}: '{positional}' must be a list"
            raise ConfigurationError(msg)
        args = values
    try:
        return cls(*args, **options)
    except TypeError:
        msg = f"[tool.safelog.fields] {name}: unknown option for kind '{kind_name}'"
        raise ConfigurationError(msg) from None
    except ConfigurationError as exc:
        msg = f"[tool.safelog.fields] {name}: {exc}"
        raise ConfigurationError(msg) from None


def load(path: str | os.PathLike[str] | None = None) -> PolicyFile | None:
    """
    Read ``[tool.safelog]`` from *path* (a pyproject.toml or a directory to
    search upwards from; default: the current directory). Returns None if
    there is no such file or table.
    """
    found = find_pyproject(path)
    if found is None:
        return None
    try:
        with found.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        msg = f"{found.name}: cannot be read as TOML"
        raise ConfigurationError(msg) from None
    table = data.get("tool", {}).get("safelog")
    if table is None:
        return None
    if not isinstance(table, Mapping):
        msg = "[tool.safelog]: must be a table"
        raise ConfigurationError(msg)
    table = dict(table)
    raw_fields = table.pop("fields", {})
    if not isinstance(raw_fields, Mapping):
        msg = "[tool.safelog.fields]: must be a table"
        raise ConfigurationError(msg)
    unknown = sorted(set(table) - FILE_OPTIONS)
    if unknown:
        msg = f"[tool.safelog]: unknown option(s) {', '.join(unknown)}"
        raise ConfigurationError(msg)
    fields = FieldPolicy({n: kind_from_spec(n, s) for n, s in raw_fields.items()})
    return PolicyFile(path=found, fields=fields, options=table)
