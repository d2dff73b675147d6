"""
Field kinds and the frozen field policy: the public face.

The kinds themselves live in `safelog._kinds` and are re-exported here, so
``from safelog.policy import Int`` keeps working; this module adds the
`FieldPolicy` that normalises a service's declarations once into frozen
objects, the `KINDS` table, and the metric checks. See `safelog._kinds`
for what a kind promises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from . import _keys
from ._hashkey import (
    HashKey,
    make_hash_key,  # noqa: F401 -- re-exported: its home before 0.2
)
from ._kinds import (
    FIELD_NAME,
    METRIC_UNITS,
    Bool,
    Cleaner,
    Duration,
    Enum,
    Float,
    Hashed,
    HttpMethod,
    HttpStatus,
    Id,
    Int,
    Kind,
    Route,
    Scalar,
    Uuid,
)
from .errors import ConfigurationError  # re-exported: its home before 0.2


__all__ = [
    "KINDS",
    "METRIC_UNITS",
    "RESERVED_KEYS",
    "Bool",
    "Cleaner",
    "ConfigurationError",
    "Duration",
    "Enum",
    "FieldPolicy",
    "Float",
    "Hashed",
    "HttpMethod",
    "HttpStatus",
    "Id",
    "Int",
    "Kind",
    "Route",
    "Uuid",
]


#: Keys every record carries; a policy may not declare them and call
#: arguments cannot override them (the table is `safelog._keys`).
RESERVED_KEYS: frozenset[str] = _keys.RESERVED


class FieldPolicy:
    """
    The frozen set of declared fields: name -> kind.

    Built once at `safelog.configure`; later changes to the mapping it was
    built from change nothing.
    """

    __slots__ = ("_cleaners", "kinds")

    def __init__(self, fields: Mapping[str, Kind] | Iterable[tuple[str, Kind]] = ()) -> None:
        items = fields.items() if isinstance(fields, Mapping) else fields
        kinds: dict[str, Kind] = {}
        for name, kind in items:
            if type(name) is not str or not FIELD_NAME.match(name):
                msg = "fields: names must be identifiers of at most 64 characters"
                raise ConfigurationError(msg)
            if name in RESERVED_KEYS:
                msg = f"fields: {name!r} is a built-in key of every record"
                raise ConfigurationError(msg)
            if not isinstance(kind, Kind):
                msg = f"fields: {name!r} must be a safelog kind such as safelog.Int()"
                raise ConfigurationError(msg)
            _check_marks(name, kind)
            kinds[name] = kind
        # Copied into a read-only mapping: the caller's dict may change later.
        self.kinds: Mapping[str, Kind] = MappingProxyType(kinds)
        self._cleaners: Mapping[str, tuple[str, Cleaner]] | None = None

    def compile(self, key: HashKey | None) -> dict[str, tuple[str, Cleaner]]:
        """
        Return name -> (canonical name, cleaner) for the chain.

        The canonical name is the policy's own string, so a key object from
        the call site is never what gets emitted. Cleaners of custom kinds are
        wrapped so that anything but a JSON scalar becomes the kind's marker.
        """
        out: dict[str, tuple[str, Cleaner]] = {}
        for name, kind in self.kinds.items():
            cleaner = kind.compile(key)
            if type(kind) not in _BUILTIN_KINDS:
                cleaner = _scalar_only(cleaner, kind.marker)
            out[name] = (name, cleaner)
        return out

    def metrics(self) -> tuple[tuple[str, str], ...]:
        """``(field name, CloudWatch unit)`` of every metric field, in declared order."""
        return tuple(
            (name, unit)
            for name, kind in self.kinds.items()
            if (unit := metric_unit(kind)) is not None
        )

    def dimensions(self) -> tuple[str, ...]:
        """Names of the dimension fields, in declared order."""
        return tuple(name for name, kind in self.kinds.items() if kind.dimension)

    def needs_key(self) -> bool:
        return any(isinstance(k, Hashed) for k in self.kinds.values())

    def __contains__(self, name: object) -> bool:
        return name in self.kinds

    def __len__(self) -> int:
        return len(self.kinds)

    def __repr__(self) -> str:
        return f"FieldPolicy({dict(self.kinds)!r})"


#: Every built-in kind by its ``kind_name`` (for policy files and tools).
KINDS: Mapping[str, type[Kind]] = MappingProxyType(
    {
        k.kind_name: k
        for k in (Int, Float, Duration, Bool, Enum, Id, Uuid, Hashed, HttpStatus, HttpMethod, Route)
    }
)
_BUILTIN_KINDS = frozenset(KINDS.values())


def _scalar_only(cleaner: Cleaner, marker: str) -> Cleaner:
    def checked(value: object) -> Scalar:
        out = cleaner(value)
        t = type(out)
        if t is str or t is int or t is bool or out is None:
            return out
        if t is float and out - out == 0.0:  # type: ignore[operator]
            return out
        return marker

    return checked


# Exact types, not isinstance: a subclass (a custom kind) can return anything
# from clean(), so only these built-in kinds' values are trusted as metric
# values or as dimension values.
_METRIC_KINDS: frozenset[type[Kind]] = frozenset({Int, Float, Duration})
#: Closed sets declared in code. An id, a hash or free text would make one
#: metric per customer, and CloudWatch publishes dimension values as they are.
_DIMENSION_KINDS: frozenset[type[Kind]] = frozenset({Enum, HttpMethod, HttpStatus, Route, Bool})
_DURATION_UNITS = {"ms": "Milliseconds", "s": "Seconds"}


def metric_unit(kind: Kind) -> str | None:
    """The CloudWatch unit *kind* is published with, or None if it is no metric."""
    requested = kind.metric
    if requested is None or requested is False:
        return None
    if type(kind) is Duration and requested is True:
        return _DURATION_UNITS[kind.unit]
    if requested is True:
        return "None"
    return requested


def _check_marks(name: str, kind: Kind) -> None:
    if kind.metric is not None and kind.metric is not False:
        if type(kind) not in _METRIC_KINDS:
            msg = (
                f"fields: {name!r} cannot be a metric: only Int, Float and Duration "
                "fields can (remove metric=)"
            )
            raise ConfigurationError(msg)
        unit = metric_unit(kind)
        if unit not in METRIC_UNITS:
            msg = (
                f"fields: {name!r}: metric must be a CloudWatch unit such as 'Count', "
                "'Milliseconds' or 'Bytes' (or True)"
            )
            raise ConfigurationError(msg)
        if isinstance(kind, Duration) and unit != _DURATION_UNITS[kind.unit]:
            msg = f"fields: {name!r}: a Duration is published in its own unit; use metric=True"
            raise ConfigurationError(msg)
    if kind.dimension:
        if type(kind) not in _DIMENSION_KINDS:
            msg = (
                f"fields: {name!r} cannot be a metric dimension: only Enum, HttpMethod, "
                "HttpStatus, Route and Bool fields can (an id, a hash or free text "
                "would publish one metric per value); remove dimension="
            )
            raise ConfigurationError(msg)
        if isinstance(kind, Enum):
            for v in kind.values:
                # CloudWatch dimension values: ASCII with a non-blank character.
                if type(v) is str and (not v.isascii() or not v.strip() or not v.isprintable()):
                    msg = (
                        f"fields: {name!r}: a dimension's values must be printable ASCII "
                        "with at least one non-blank character"
                    )
                    raise ConfigurationError(msg)
