"""
Reading numbers and strings from values without trusting them: exact
types, numpy's scalars by value, and the payment-card-number shape.

No function here calls ``str()``, ``repr()``, ``__eq__``, ``__index__`` or
``__float__`` of an object it does not know: an exact type (or an int/str
subclass through the base type's own slot, or numpy's own scalar types) is
checked first.
"""

from __future__ import annotations

import operator
import re
import sys

from typing import Any


__all__ = [
    "CARD_MIN",
    "card_like_int",
    "exact_int",
    "exact_str",
    "looks_like_card_number",
    "luhn",
    "numpy_bool",
    "numpy_float",
    "numpy_int",
]


def exact_int(value: object) -> int | None:
    # bool is an int subclass but means something else; other int subclasses
    # are normalised through int's own slot so an overridden __int__/__index__
    # cannot change the number.
    t = type(value)
    if t is int:
        return value  # type: ignore[return-value]
    if t is bool or not isinstance(value, int):
        return None
    return int.__int__(value)


def exact_str(value: object) -> str | None:
    if type(value) is str:
        return value
    if isinstance(value, str):
        # str's own slot copies the characters; an overridden __str__ is
        # never consulted.
        return str.__str__(value)
    return None


# numpy's scalar types by kind, looked up in the loaded numpy (never imported
# here): a value of one of these exact types is a number by numpy's own C
# slots, so its value is read with int()/float()/bool().
_NUMPY_INTS = (
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "byte", "short", "intc", "int_", "intp", "long", "longlong",
    "ubyte", "ushort", "uintc", "uint", "uintp", "ulong", "ulonglong",
)  # fmt: skip
_NUMPY_FLOATS = ("float16", "float32", "float64", "half", "single", "double", "longdouble")
_NUMPY_BOOLS = ("bool_", "bool")
_numpy_types: list[Any] = [None, frozenset(), frozenset(), frozenset()]


def _numpy_kinds() -> tuple[frozenset[type], frozenset[type], frozenset[type]]:
    """numpy's exact int, float and bool scalar types, or empty sets without numpy."""
    np = sys.modules.get("numpy")
    cached = _numpy_types
    if cached[0] is not np:
        found = []
        for names in (_NUMPY_INTS, _NUMPY_FLOATS, _NUMPY_BOOLS):
            types_ = {getattr(np, n, None) for n in names} if np is not None else set()
            found.append(frozenset(t for t in types_ if type(t) is type and t is not bool))
        # A bool type is never an int type here, and builtins never appear.
        cached[1:] = [found[0] - found[2] - {int, float}, found[1] - {float}, found[2]]
        cached[0] = np
    return cached[1], cached[2], cached[3]


def numpy_int(value: object) -> int | None:
    if type(value) in _numpy_kinds()[0]:
        # numpy's own __index__ (an exact numpy type: no override possible).
        return operator.index(value)  # type: ignore[arg-type]
    return None


def numpy_float(value: object) -> float | None:
    if type(value) in _numpy_kinds()[1]:
        return float(value)  # type: ignore[arg-type]
    return None


def numpy_bool(value: object) -> bool | None:
    if type(value) in _numpy_kinds()[2]:
        return bool(value)
    return None


# A maximal run of digits, single spaces or dashes between them allowed.
_DIGIT_RUN = re.compile(r"[0-9](?:[ -]?[0-9])*")


def luhn(digits: str) -> bool:
    """The Luhn check of a string of ASCII digits (payment card numbers pass it)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def looks_like_card_number(text: str) -> bool:
    """
    Whether *text* holds a run of 13 to 19 digits (plain, or grouped by
    single spaces or dashes) that passes the Luhn check, as payment card
    numbers do. About one in ten random digit runs of that length passes too.
    """
    if len(text) < 13:
        return False
    for m in _DIGIT_RUN.finditer(text):
        run = m.group()
        if len(run) < 13:
            continue
        digits = run.replace(" ", "").replace("-", "")
        if 13 <= len(digits) <= 19 and luhn(digits):
            return True
    return False


def card_like_int(n: int) -> bool:
    return not -CARD_MIN < n < CARD_MIN and looks_like_card_number(str(abs(n)))


#: The smallest 13-digit number: below it, no int can be a card number.
CARD_MIN = 10**12
