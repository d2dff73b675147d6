"""
The field kinds; `safelog.policy` is their public face and re-exports them.

A *kind* decides, from a value alone, whether that value may leave the
process. No kind carries free text: every kind accepts either a number, a
member of a closed set declared in code, a bounded identifier-shaped string,
or replaces the value with a keyed pseudonym. A value that fails its kind is
replaced by a fixed marker naming the kind (``"<rejected:int>"``), never by
anything derived from the value.

Kinds never call ``str()``, ``repr()``, ``__eq__`` or ``__hash__`` of an
object they do not know: they check the exact type first, so a hostile
subclass cannot smuggle content through an overridden dunder.

One job past 500 lines on purpose: each kind is a small class with its
constructor checks and its compiled cleaner, and they share `Kind`'s
marker, flag and metric rules; the hash key itself lives in
`safelog._hashkey`.
"""

from __future__ import annotations

import datetime as _dt
import enum as _enum
import hmac
import math
import re
import uuid as _uuid

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from ._hashkey import HashKey
from ._numbers import (
    CARD_MIN,
    card_like_int,
    exact_int,
    exact_str,
    looks_like_card_number,
    numpy_bool,
    numpy_float,
    numpy_int,
)
from .errors import ConfigurationError


__all__ = [
    "FIELD_NAME",
    "METRIC_UNITS",
    "Bool",
    "Cleaner",
    "Duration",
    "Enum",
    "Float",
    "Hashed",
    "HttpMethod",
    "HttpStatus",
    "Id",
    "Int",
    "Kind",
    "Route",
    "Scalar",
    "Uuid",
]

#: What a kind may emit: JSON scalars only.
Scalar = str | int | float | bool | None
#: A compiled kind: value in, safe scalar (or the kind's marker) out.
Cleaner = Callable[[object], Scalar]

#: The units CloudWatch accepts for a metric (``metric="Milliseconds"``).
METRIC_UNITS: frozenset[str] = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)

_MAX_ENUM_VALUE = 256
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
_ID_CHARS = re.compile(r"[A-Za-z0-9._:\-]+\Z")
_UUID = re.compile(
    r"([0-9a-fA-F]{8})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?"
    r"([0-9a-fA-F]{4})-?([0-9a-fA-F]{12})\Z"
)
_ROUTE = re.compile(r"/[A-Za-z0-9._~/{}<>:\-]{0,199}\Z")


def _checked_flag(value: object, kind: str) -> bool:
    if type(value) is not bool:
        msg = f"{kind}: allow_card_numbers must be True or False"
        raise ConfigurationError(msg)
    return value


class Kind:
    """
    Base of every field kind.

    Subclasses implement `clean`, which returns the value to emit or
    `marker`. A custom kind is an explicit decision that its values are
    metadata: safelog cannot check that for you, and `safelog.testing`
    exists to catch the case where it is wrong.
    """

    #: Short name used in markers and in the inventory.
    kind_name: ClassVar[str] = "custom"

    __slots__ = ("dimension", "metric", "purpose")

    purpose: str
    #: ``metric=`` as given: a CloudWatch unit name, True (the kind's own
    #: unit) or None. `FieldPolicy` checks it with the field's name.
    metric: str | bool | None
    #: ``dimension=`` as given; `FieldPolicy` checks the kind allows it.
    dimension: bool

    def __init__(
        self, *, purpose: object = "", metric: object = None, dimension: object = False
    ) -> None:
        # Typed as object: policies also come from TOML, checked here.
        if not isinstance(purpose, str):
            msg = "purpose: must be a string"
            raise ConfigurationError(msg)
        self.purpose = purpose
        # Only the type is checked here; FieldPolicy checks the rest with the
        # field's name (a kind does not know it), so an Id(dimension=True)
        # fails at configure() naming the field.
        if metric is not None and type(metric) not in (bool, str):
            msg = "metric: must be a CloudWatch unit name such as 'Count', or True"
            raise ConfigurationError(msg)
        if type(dimension) is not bool:
            msg = "dimension: must be True or False"
            raise ConfigurationError(msg)
        self.metric = None if metric is False else metric  # type: ignore[assignment]
        self.dimension = dimension

    @property
    def marker(self) -> str:
        """The fixed text that replaces a value that fails this kind."""
        return f"<rejected:{self.kind_name}>"

    def clean(self, value: object) -> Scalar:
        """Return *value* in its safe form, or `marker`."""
        raise NotImplementedError

    def constraints(self) -> dict[str, Any]:
        """The declared constraints, for the inventory. JSON-compatible."""
        return {}

    def compile(self, key: HashKey | None) -> Cleaner:
        """
        Return the function the chain calls for each value.

        *key* is the configured hash key; only `Hashed` uses it.
        """
        return self.clean

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.constraints().items())
        return f"{type(self).__name__}({args})"


class Int(Kind):
    """
    An integer within ``[min, max]`` (default: the signed 64-bit range).

    numpy integer scalars (``np.int64``...) are accepted by value. A number
    shaped like a payment card number (13 to 19 digits passing the Luhn
    check) is rejected unless *allow_card_numbers* is true; a declared
    ``max`` below 10**12 is the stronger defence.
    """

    kind_name = "int"
    __slots__ = ("allow_card_numbers", "max", "min")

    def __init__(
        self,
        *,
        min: int | None = None,
        max: int | None = None,
        allow_card_numbers: bool = False,
        purpose: str = "",
        metric: str | bool | None = None,
        dimension: bool = False,
    ) -> None:
        super().__init__(purpose=purpose, metric=metric, dimension=dimension)
        self.allow_card_numbers = _checked_flag(allow_card_numbers, "Int")
        lo = _INT64_MIN if min is None else exact_int(min)
        hi = _INT64_MAX if max is None else exact_int(max)
        if lo is None or hi is None:
            msg = "Int: min and max must be integers"
            raise ConfigurationError(msg)
        if lo > hi:
            msg = "Int: min must not exceed max"
            raise ConfigurationError(msg)
        self.min = max_(lo, _INT64_MIN)
        self.max = min_(hi, _INT64_MAX)

    def clean(self, value: object) -> Scalar:
        n = exact_int(value)
        if n is None:
            n = numpy_int(value)
        if n is None or n < self.min or n > self.max:
            return self.marker
        if not self.allow_card_numbers and card_like_int(n):
            return self.marker
        return n

    def compile(self, key: HashKey | None) -> Cleaner:
        lo, hi, slow = self.min, self.max, self.clean
        if not self.allow_card_numbers:
            # Only numbers of 13 digits or more need the card check; narrow
            # the fast path's range to below them.
            lo, hi = max_(lo, 1 - CARD_MIN), min_(hi, CARD_MIN - 1)

        def clean_int(value: object) -> Scalar:
            if type(value) is int and lo <= value <= hi:
                return value
            return slow(value)

        return clean_int

    def constraints(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.min != _INT64_MIN:
            out["min"] = self.min
        if self.max != _INT64_MAX:
            out["max"] = self.max
        if self.allow_card_numbers:
            out["allow_card_numbers"] = True
        return out


# Int's keyword arguments shadow the builtins inside its __init__.
max_ = max
min_ = min


class HttpStatus(Int):
    """An HTTP status code, 100 to 599."""

    kind_name = "http_status"
    __slots__ = ()

    def __init__(
        self, *, purpose: str = "", metric: str | bool | None = None, dimension: bool = False
    ) -> None:
        super().__init__(min=100, max=599, purpose=purpose, metric=metric, dimension=dimension)


class Float(Kind):
    """
    A finite number within ``[min, max]``; ints and numpy scalars are
    accepted as floats. A whole number shaped like a payment card number is
    rejected unless *allow_card_numbers* is true (see `Int`).
    """

    kind_name = "float"
    __slots__ = ("allow_card_numbers", "max", "min")

    def __init__(
        self,
        *,
        min: float | None = None,
        max: float | None = None,
        allow_card_numbers: bool = False,
        purpose: str = "",
        metric: str | bool | None = None,
        dimension: bool = False,
    ) -> None:
        super().__init__(purpose=purpose, metric=metric, dimension=dimension)
        self.allow_card_numbers = _checked_flag(allow_card_numbers, "Float")
        for name, bound in (("min", min), ("max", max)):
            if bound is not None and (
                isinstance(bound, bool)
                or not isinstance(bound, (int, float))
                or not math.isfinite(bound)
            ):
                msg = f"Float: {name} must be a finite number"
                raise ConfigurationError(msg)
        if min is not None and max is not None and min > max:
            msg = "Float: min must not exceed max"
            raise ConfigurationError(msg)
        self.min = -math.inf if min is None else float(min)
        self.max = math.inf if max is None else float(max)

    def clean(self, value: object) -> Scalar:
        t = type(value)
        if t is float:
            f: float = value  # type: ignore[assignment]
        elif isinstance(value, float):
            f = float.__float__(value)
        else:
            n = exact_int(value)
            if n is None:
                n = numpy_int(value)
            if n is None:
                g = numpy_float(value)
                if g is None:
                    return self.marker
                f = g
            elif not _INT64_MIN <= n <= _INT64_MAX:
                return self.marker
            else:
                f = float(n)
        # NaN fails both comparisons; infinities fail isfinite.
        if not (self.min <= f <= self.max) or not math.isfinite(f):
            return self.marker
        if not self.allow_card_numbers and f.is_integer() and card_like_int(int(f)):
            return self.marker
        return f

    def compile(self, key: HashKey | None) -> Cleaner:
        lo, hi, slow = self.min, self.max, self.clean
        if not self.allow_card_numbers:
            # Only whole numbers of 13 digits or more need the card check.
            lo, hi = max_(lo, 1.0 - CARD_MIN), min_(hi, CARD_MIN - 1.0)

        def clean_float(value: object) -> Scalar:
            # v - v is 0.0 only for finite v (inf - inf and NaN give NaN).
            if type(value) is float and lo <= value <= hi and value - value == 0.0:
                return value
            return slow(value)

        return clean_float

    def constraints(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.min != -math.inf:
            out["min"] = self.min
        if self.max != math.inf:
            out["max"] = self.max
        if self.allow_card_numbers:
            out["allow_card_numbers"] = True
        return out


class Duration(Float):
    """
    A non-negative duration: a `datetime.timedelta` or a number, emitted in
    *unit* (``"ms"`` or ``"s"``).
    """

    kind_name = "duration"
    __slots__ = ("_scale", "unit")

    def __init__(
        self,
        *,
        unit: str = "ms",
        purpose: str = "",
        metric: str | bool | None = None,
        dimension: bool = False,
    ) -> None:
        if unit not in ("ms", "s"):
            msg = "Duration: unit must be 'ms' or 's'"
            raise ConfigurationError(msg)
        super().__init__(min=0.0, purpose=purpose, metric=metric, dimension=dimension)
        self.unit = unit
        self._scale = 1000.0 if unit == "ms" else 1.0

    def clean(self, value: object) -> Scalar:
        if type(value) is _dt.timedelta:
            return super().clean(value.total_seconds() * self._scale)
        return super().clean(value)

    def constraints(self) -> dict[str, Any]:
        return {"unit": self.unit}


class Bool(Kind):
    """``True`` or ``False`` (or numpy's ``bool_``), nothing truthy."""

    kind_name = "bool"
    __slots__ = ()

    def clean(self, value: object) -> Scalar:
        if value is True or value is False:
            return value
        b = numpy_bool(value)
        return self.marker if b is None else b


_CONTAINERS: frozenset[type] = frozenset({list, tuple, set, frozenset})


class Enum(Kind):
    """
    One of a closed set of values declared in code.

    Accepts strings (and ints) given as arguments, or an `enum.Enum` class
    whose members' values are used. A value matches only if it has exactly
    the declared type; the *declared* value is emitted, never the caller's
    object.
    """

    kind_name = "enum"
    __slots__ = ("_lookup", "values")

    def __init__(
        self,
        *values: str | int | type[_enum.Enum],
        purpose: str = "",
        metric: str | bool | None = None,
        dimension: bool = False,
    ) -> None:
        super().__init__(purpose=purpose, metric=metric, dimension=dimension)
        flat: list[str | int] = []
        for v in values:
            # The annotation says str/int/Enum; a caller's list arrives anyway.
            if type(v) in _CONTAINERS:
                # Enum(["a", "b"]): the values were passed as one container.
                msg = (
                    f"{type(self).__name__}: pass the values as separate arguments, "
                    f'{type(self).__name__}("a", "b"), not one list; or an enum.Enum class'
                )
                raise ConfigurationError(msg)
            if isinstance(v, type) and issubclass(v, _enum.Enum):
                flat.extend(m.value for m in v)
            else:
                flat.append(v)
        if not flat:
            msg = f"{type(self).__name__}: declare at least one value"
            raise ConfigurationError(msg)
        for v in flat:
            if type(v) not in (str, int) or (type(v) is str and not v):
                msg = f"{type(self).__name__}: values must be non-empty str or int"
                raise ConfigurationError(msg)
            if type(v) is str and len(v) > _MAX_ENUM_VALUE:
                # Names of states, not documents: a record must stay small.
                msg = f"{type(self).__name__}: values must be at most {_MAX_ENUM_VALUE} characters"
                raise ConfigurationError(msg)
        # Frozen at construction: mutating the caller's list later changes
        # nothing.
        self.values: tuple[str | int, ...] = tuple(dict.fromkeys(flat))
        self._lookup: Mapping[object, str | int] = MappingProxyType(
            {(type(v), v): v for v in self.values}
        )

    def clean(self, value: object) -> Scalar:
        if isinstance(value, _enum.Enum):
            value = value.value
        t = type(value)
        if t is str or t is int:
            return self._lookup.get((t, value), self.marker)
        return self.marker

    def compile(self, key: HashKey | None) -> Cleaner:
        strings = {v: v for v in self.values if type(v) is str}
        marker, slow = self.marker, self.clean

        def clean_enum(value: object) -> Scalar:
            if type(value) is str:
                return strings.get(value, marker)
            return slow(value)

        return clean_enum

    def constraints(self) -> dict[str, Any]:
        return {"values": list(self.values)}


_HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")


class HttpMethod(Enum):
    """A standard HTTP method; lower case input is normalised to upper case."""

    kind_name = "http_method"
    __slots__ = ()

    def __init__(
        self, *, purpose: str = "", metric: str | bool | None = None, dimension: bool = False
    ) -> None:
        super().__init__(*_HTTP_METHODS, purpose=purpose, metric=metric, dimension=dimension)

    def clean(self, value: object) -> Scalar:
        s = exact_str(value)
        if s is None or len(s) > 7:
            return self.marker
        return self._lookup.get((str, s.upper()), self.marker)

    def compile(self, key: HashKey | None) -> Cleaner:
        return self.clean

    def constraints(self) -> dict[str, Any]:
        return {}


class Route(Enum):
    """
    A route *template* declared in code, such as ``"/pages/{page_id}"``.

    Raw paths carry customer data, and a pattern cannot tell ``/users/alice``
    from ``/users/export``; so the templates are declared, for example from
    the framework's URL map at startup.
    """

    kind_name = "route"
    __slots__ = ()

    def __init__(
        self,
        *templates: str,
        purpose: str = "",
        metric: str | bool | None = None,
        dimension: bool = False,
    ) -> None:
        for t in templates:
            if type(t) is not str or not _ROUTE.match(t):
                msg = "Route: templates must be strings like '/pages/{page_id}'"
                raise ConfigurationError(msg)
        super().__init__(*templates, purpose=purpose, metric=metric, dimension=dimension)

    def constraints(self) -> dict[str, Any]:
        return {"templates": list(self.values)}


class Id(Kind):
    """
    An identifier: 1 to *max_length* characters from ``[A-Za-z0-9._:-]``.

    *pattern*, if given, must also match in full; it can only narrow what the
    character class allows, never widen it. Ints are accepted and emitted as
    their decimal string. An identifier holding a run of 13 to 19 digits
    that passes the Luhn check (a payment card number's shape) is rejected
    unless *allow_card_numbers* is true.
    """

    kind_name = "id"
    __slots__ = ("_pattern", "allow_card_numbers", "max_length")

    def __init__(
        self,
        *,
        max_length: int = 64,
        pattern: str | None = None,
        allow_card_numbers: bool = False,
        purpose: str = "",
        metric: str | bool | None = None,
        dimension: bool = False,
    ) -> None:
        super().__init__(purpose=purpose, metric=metric, dimension=dimension)
        self.allow_card_numbers = _checked_flag(allow_card_numbers, "Id")
        if type(max_length) is not int or not 1 <= max_length <= 128:
            msg = "Id: max_length must be an int from 1 to 128"
            raise ConfigurationError(msg)
        self.max_length = max_length
        try:
            self._pattern = None if pattern is None else re.compile(pattern)
        except (re.error, TypeError):
            msg = "Id: pattern must be a valid regular expression"
            raise ConfigurationError(msg) from None

    def clean(self, value: object) -> Scalar:
        s = exact_str(value)
        if s is None:
            n = exact_int(value)
            if n is None:
                return self.marker
            s = str(n)
        if (
            len(s) > self.max_length
            or not s
            or not s.isascii()
            or not _ID_CHARS.match(s)
            or (self._pattern is not None and not self._pattern.fullmatch(s))
            or (not self.allow_card_numbers and looks_like_card_number(s))
        ):
            return self.marker
        return s

    def compile(self, key: HashKey | None) -> Cleaner:
        if self._pattern is not None:
            return self.clean
        # Shorter than 13 characters, an id cannot hold a card number.
        longest, match, slow = self.max_length, _ID_CHARS.match, self.clean
        unchecked = longest if self.allow_card_numbers else min_(longest, 12)

        def clean_id(value: object) -> Scalar:
            # The character class is ASCII-only and the pattern has no
            # IGNORECASE, so a match implies ASCII.
            if type(value) is str and 0 < len(value) <= unchecked and match(value):
                return value
            return slow(value)

        return clean_id

    def constraints(self) -> dict[str, Any]:
        out: dict[str, Any] = {"max_length": self.max_length}
        if self._pattern is not None:
            out["pattern"] = self._pattern.pattern
        if self.allow_card_numbers:
            out["allow_card_numbers"] = True
        return out


class Uuid(Kind):
    """A UUID (object or string, with or without dashes), emitted canonical."""

    kind_name = "uuid"
    __slots__ = ()

    def clean(self, value: object) -> Scalar:
        if type(value) is _uuid.UUID:
            return str(value)
        s = exact_str(value)
        if s is None or len(s) > 36:
            return self.marker
        m = _UUID.match(s)
        if m is None:
            return self.marker
        return "-".join(m.groups()).lower()


class Hashed(Kind):
    """
    A keyed pseudonym: ``"<key_id>:<HMAC-SHA256, base32, 26 chars>"``.

    Stable for one key, so records about the same tenant group together; not
    reversible without the key. Accepts str, int and UUID values. The key id
    in the output lets keys rotate. `safelog.configure` refuses a policy with
    `Hashed` fields when no key is configured.
    """

    kind_name = "hashed"
    __slots__ = ()

    def clean(self, value: object) -> Scalar:
        # Without a compiled key nothing can be pseudonymised: fail closed.
        return self.marker

    def compile(self, key: HashKey | None) -> Cleaner:
        if key is None:
            msg = "Hashed fields need a hash key (hash_key= or SAFELOG_HASH_KEY)"
            raise ConfigurationError(msg)
        secret = key.secret
        prefix = key.key_id + ":"
        marker = self.marker
        digest = hmac.digest
        b32 = _b32

        def clean_hashed(value: object) -> Scalar:
            if type(value) is _uuid.UUID:
                data = value.bytes
            else:
                s = exact_str(value)
                if s is None:
                    n = exact_int(value)
                    if n is None:
                        return marker
                    s = str(n)
                try:
                    data = s.encode("utf-8")
                except UnicodeEncodeError:
                    return marker
            return prefix + b32(digest(secret, data, "sha256")[:16])

        return clean_hashed


def _b32(raw: bytes) -> str:
    import base64

    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()
