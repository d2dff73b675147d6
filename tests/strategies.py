"""
Hypothesis strategies and builders shared by the property tests.

Exceptions (`exceptions`, `loaded_exception` and friends) carry a canary in
every place an exception can hold text: message, ``args``, ``__notes__``,
attributes, local variables of the raising frames, causes, contexts, group
members, ``UnicodeDecodeError.object``, ``json.JSONDecodeError.doc``, and
hostile ``__str__``/``__repr__``/``__getattr__`` and shadowed dunders.

`add_note` and `qualname_or_name` cover what differs on Python 3.10.
"""

from __future__ import annotations

import functools
import json
import sys
import uuid

from typing import Any

from hypothesis import strategies as st


# -- what differs on Python 3.10 ----------------------------------------------

if sys.version_info >= (3, 11):
    from builtins import BaseExceptionGroup, ExceptionGroup

    #: How error records name `ExceptionGroup`.
    GROUP_TYPE = "ExceptionGroup"
else:  # pragma: no cover -- the backport, a `test` extra on 3.10
    from exceptiongroup import BaseExceptionGroup, ExceptionGroup

    GROUP_TYPE = f"{ExceptionGroup.__module__}.{ExceptionGroup.__qualname__}"


def add_note(exc: BaseException, note: str) -> None:
    """``exc.add_note(note)``; on 3.10, what it does: append to ``__notes__``."""
    if sys.version_info >= (3, 11):
        exc.add_note(note)
        return
    notes = getattr(exc, "__notes__", None)
    if notes is None:
        notes = []
        exc.__notes__ = notes  # type: ignore[attr-defined]
    notes.append(note)


def qualname_or_name(qualname: str) -> str:
    """
    The function name safelog reports for code whose qualified name is
    *qualname*: that name (``co_qualname``) on 3.11+, its last part
    (``co_name``, all a 3.10 code object has) on 3.10.
    """
    if sys.version_info >= (3, 11):
        return qualname
    return qualname.rpartition(".")[2]


# -- exceptions ---------------------------------------------------------------

# BaseException's own descriptors: the hostile classes below shadow the names.
_CAUSE = BaseException.__dict__["__cause__"]
_CONTEXT = BaseException.__dict__["__context__"]


def raise_through(exc: BaseException, depth: int, canary: str) -> BaseException:
    """Raise *exc* *depth* frames down, with the canary in every frame's locals."""

    def down(n: int) -> None:
        local_secret = canary  # a local variable each frame holds
        if n <= 0:
            raise exc
        down(n - 1)
        del local_secret

    try:
        down(depth)
    except BaseException as caught:  # the point is to catch it
        return caught
    msg = "unreachable"
    raise AssertionError(msg)


class HostileStrError(Exception):
    """``str()``/``repr()``/``__getattr__`` answer with the canary."""

    canary = ""

    def __str__(self) -> str:
        return self.canary

    def __repr__(self) -> str:
        return self.canary

    def __getattr__(self, name: str) -> Any:
        return self.canary


class RaisingStrError(Exception):
    """``str()``/``repr()`` raise an exception whose message is the canary."""

    canary = ""

    def __str__(self) -> str:
        raise RuntimeError(self.canary)

    def __repr__(self) -> str:
        raise RuntimeError(self.canary)


class ShadowedDundersError(Exception):
    """Properties shadow the chain, traceback, notes and class."""

    canary = ""

    @property  # type: ignore[override]
    def __cause__(self) -> Any:
        return ValueError(self.canary)

    @property  # type: ignore[override]
    def __context__(self) -> Any:
        raise RuntimeError(self.canary)

    @property  # type: ignore[override]
    def __traceback__(self) -> Any:
        raise RuntimeError(self.canary)

    @property
    def __notes__(self) -> Any:
        return [self.canary]

    @property  # type: ignore[override]
    def __class__(self) -> Any:
        return KeyError


class FieldsError(Exception):
    """An ordinary exception with attributes holding data."""


_PLAIN_TYPES: tuple[type[Exception], ...] = (
    ValueError,
    KeyError,
    TypeError,
    RuntimeError,
    LookupError,
    AttributeError,
    PermissionError,
    FileNotFoundError,
    FieldsError,
)


def unicode_decode_error(canary: str) -> UnicodeDecodeError:
    """A real UnicodeDecodeError whose ``.object`` holds the canary."""
    try:
        (canary.encode() + b"\xff").decode("utf-8")
    except UnicodeDecodeError as e:
        return e
    msg = "unreachable"
    raise AssertionError(msg)


def json_decode_error(canary: str) -> json.JSONDecodeError:
    """A real JSONDecodeError whose ``.doc`` holds the canary."""
    try:
        json.loads('{"k": ' + canary)
    except json.JSONDecodeError as e:
        return e
    msg = "unreachable"
    raise AssertionError(msg)


def _leaf(draw: st.DrawFn, canary: str) -> BaseException:
    kind = draw(
        st.sampled_from(["plain", "unicode", "json", "oserror", "hostile", "raising", "shadow"])
    )
    exc: BaseException
    if kind == "plain":
        tp = draw(st.sampled_from(_PLAIN_TYPES))
        args = draw(
            st.lists(
                st.sampled_from([canary, canary.encode(), {"k": canary}, 7, (canary,)]),
                max_size=3,
            )
        )
        exc = tp(*args)
    elif kind == "unicode":
        exc = unicode_decode_error(canary)
    elif kind == "json":
        exc = json_decode_error(canary)
    elif kind == "oserror":
        exc = OSError(2, canary, canary + "/path")
    else:
        cls: type[Exception] = {
            "hostile": HostileStrError,
            "raising": RaisingStrError,
            "shadow": ShadowedDundersError,
        }[kind]
        # A fresh subclass per draw, so each carries its own canary.
        exc = type(cls.__name__, (cls,), {"canary": canary})(canary)
    if draw(st.booleans()) and kind != "hostile":
        # (HostileStrError's __getattr__ already answers __notes__ with text.)
        add_note(exc, canary)
    if draw(st.booleans()):
        exc.payload = canary  # type: ignore[attr-defined]
    if draw(st.booleans()):
        exc = raise_through(exc, draw(st.integers(0, 4)), canary)
    return exc


@st.composite
def exceptions(draw: st.DrawFn, canary: str) -> BaseException:
    """
    Exceptions of random types, args, notes and attributes, chained by
    causes and contexts (sometimes in a cycle) and grouped, each place
    holding *canary*.
    """

    def build(depth: int) -> BaseException:
        exc = _leaf(draw, canary)
        if depth <= 0:
            return exc
        shape = draw(st.sampled_from(["leaf", "cause", "context", "group"]))
        if shape == "cause":
            _CAUSE.__set__(exc, build(depth - 1))
        elif shape == "context":
            _CONTEXT.__set__(exc, build(depth - 1))
        elif shape == "group":
            members = [build(depth - 1) for _ in range(draw(st.integers(1, 3)))]
            if all(isinstance(m, Exception) for m in members):
                group: BaseException = ExceptionGroup(canary, members)  # type: ignore[type-var]
            else:
                group = BaseExceptionGroup(canary, members)
            if draw(st.booleans()):
                add_note(group, canary)
            exc = group
        return exc

    root = build(draw(st.integers(0, 3)))
    if draw(st.booleans()):
        # A cycle: the innermost context points back at the root.
        tail = root
        seen = set()
        while _CONTEXT.__get__(tail) is not None and id(tail) not in seen:
            seen.add(id(tail))
            tail = _CONTEXT.__get__(tail)
        if tail is not root:
            _CONTEXT.__set__(tail, root)
    if draw(st.booleans()):
        root = raise_through(root, draw(st.integers(0, 3)), canary)
    return root


def loaded_exception(canary: str) -> BaseException:
    """
    One exception with the canary in every place at once: message, args,
    notes, attributes, locals, a context, a cause and group members::

        KeyError --context--> RuntimeError --cause--> LookupError
          --context--> ExceptionGroup[ValueError, UnicodeDecodeError,
                                      JSONDecodeError]
    """
    member = ValueError(canary)
    add_note(member, canary)
    group = ExceptionGroup(
        canary, [member, unicode_decode_error(canary), json_decode_error(canary)]
    )
    cause = LookupError(canary)
    cause.__context__ = group
    context = RuntimeError(canary, canary.encode())
    context.__cause__ = cause
    exc = KeyError(canary, {"user": canary})
    add_note(exc, canary)
    exc.detail = canary  # type: ignore[attr-defined]
    exc.__context__ = context
    return raise_through(exc, 2, canary)


#: Types `loaded_exception` puts in the tree, as error records name them.
LOADED_TYPES = (
    "KeyError",
    "RuntimeError",
    "LookupError",
    GROUP_TYPE,
    "ValueError",
    "UnicodeDecodeError",
    "json.decoder.JSONDecodeError",
)


# -- event dicts ----------------------------------------------------------------
#
# Every piece of "customer content" below carries a token ``cnry`` + 12 hex
# digits. safelog never writes that shape itself, so finding
# ``cnry[0-9a-f]{6}`` anywhere in any sink's output (case-insensitively) is a
# leak, however the value was transformed on the way.

CANARY_RE = r"(?i)cnry[0-9a-f]{6}"

tokens = st.text("0123456789abcdef", min_size=12, max_size=12).map(lambda h: "cnry" + h)

_TEMPLATES = (
    "{t}",
    "Q3 roadmap – Zoë's draft {t}",  # noqa: RUF001 -- non-ASCII on purpose
    "line one\nline two {t}\r\n",
    '{t}"}}\n{{"event":"forged","level":"critical"}}',
    "\x1b[31m{t}\x1b[0m",
    "\u202e{t}\u2028\u2029\x85",
    "jane.doe+{t}@example.com",
    "https://app.example.com/pages?title={t}&q=1",
    "SELECT * FROM pages WHERE title = '{t}'",
    "{t}" * 40,
)


class HostileStr(str):
    """A str subclass whose dunders all try to put content into the output."""

    __slots__ = ()

    def __str__(self) -> str:
        return "str:" + self

    def __repr__(self) -> str:
        return "repr:" + self

    def __format__(self, spec: str) -> str:
        return "fmt:" + self


class HostileObject:
    """An unknown object: anything calling str/repr/format on it leaks."""

    def __init__(self, text: str) -> None:
        self._text = text

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return self._text

    def __format__(self, spec: str) -> str:
        return self._text

    def __getattr__(self, name: str) -> Any:
        return self._text


class HostileInt(int):
    """An int whose repr is content (its value is harmless)."""

    def __repr__(self) -> str:
        return "int"

    def __str__(self) -> str:
        return "int"


def content(token: str) -> st.SearchStrategy[str]:
    """Realistic customer text around *token*: non-ASCII, CR/LF, forged JSON, ANSI, bidi."""
    return st.sampled_from(_TEMPLATES).map(lambda t: t.format(t=token))


@st.composite
def leaf_values(draw: st.DrawFn) -> Any:
    """One value that carries a canary, in any shape a caller might log."""
    token = draw(tokens)
    text = draw(content(token))
    return draw(
        st.sampled_from(
            [
                text,
                HostileStr(text),
                HostileObject(text),
                text.encode("utf-8"),
                bytearray(text.encode("utf-8")),
                ValueError(text),
                KeyError(text),
                {"title": text},
                [text, 1, 2.5],
                (text,),
                frozenset({text}),
            ]
        )
    )


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=3),
        st.tuples(children, children),
        st.dictionaries(tokens.map("k_{}".format), children, max_size=3),
    )


@functools.cache
def nested_values() -> st.SearchStrategy[Any]:
    """Canary-carrying values: mostly single leaves, sometimes nested containers.

    One instance, built once: a fresh `st.recursive` per draw made Hypothesis
    re-derive the strategy's properties every time (most of a property
    test's run time).
    """
    return st.one_of(
        leaf_values(),
        leaf_values(),
        st.recursive(leaf_values(), _containers, max_leaves=6),
    )


# -- numpy scalars (when numpy is installed) -------------------------------------

try:
    import numpy as _np
except ImportError:  # pragma: no cover -- numpy is in the test extra
    _np = None


def numpy_ints(lo: int, hi: int) -> st.SearchStrategy[Any]:
    """Integers in [lo, hi] as numpy scalars of a type that holds them (plain without numpy)."""
    plain = st.integers(lo, hi)
    if _np is None:  # pragma: no cover
        return plain
    types = [t for t in (_np.int32, _np.int64, _np.uint32, _np.uint64) if _fits(t, lo, hi)]
    return st.tuples(st.sampled_from(types), plain).map(lambda tv: tv[0](tv[1]))


def _fits(t: Any, lo: int, hi: int) -> bool:
    info = _np.iinfo(t)  # type: ignore[union-attr]
    return bool(info.min <= lo and hi <= info.max)


def numpy_floats(lo: float, hi: float) -> st.SearchStrategy[Any]:
    """Finite floats in [lo, hi] as np.float16/32/64 scalars (plain floats without numpy)."""
    plain = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if _np is None:  # pragma: no cover
        return plain
    return (
        st.tuples(st.sampled_from([_np.float16, _np.float32, _np.float64]), plain)
        .map(lambda tv: tv[0](tv[1]))
        .filter(lambda v: lo <= float(v) <= hi)
    )


def numpy_bools() -> st.SearchStrategy[Any]:
    """np.bool_ scalars (plain bools without numpy)."""
    if _np is None:  # pragma: no cover
        return st.booleans()
    return st.booleans().map(_np.bool_)


def _no_card_number(text: str) -> bool:
    from safelog._numbers import looks_like_card_number

    return not looks_like_card_number(text)


#: The declared policy of the property tests, with strategies for values that
#: must arrive intact (compared by value: a numpy scalar arrives as its number).
VALID_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "page_count": st.one_of(st.integers(0, 10**6), numpy_ints(0, 10**6)),
    "duration_ms": st.one_of(
        st.floats(0, 1e9, allow_nan=False, allow_infinity=False), numpy_floats(0, 1e4)
    ),
    "cached": st.one_of(st.booleans(), numpy_bools()),
    "status": st.sampled_from(["ok", "failed"]),
    # 13-19 digit runs passing Luhn are card-shaped, rejected by design.
    "request_id": st.from_regex(r"[A-Za-z0-9._:-]{1,64}", fullmatch=True).filter(_no_card_number),
    "trace_id": st.uuids().map(str),
}


# -- code the team did not write --------------------------------------------------

#: File names code compiled at runtime carries (the last: posing as a real file).
RUNTIME_FILENAMES = ("<rule>", "<string>", "<template:invoice>", "rules/generated.py", __file__)


@st.composite
def runtime_compiled_logging(draw: st.DrawFn) -> tuple[Any, str]:
    """
    A function compiled at runtime from customer text, as a rules engine or
    template compiler would: ``action(log)`` logs the text as its event (and,
    sometimes, its function is named from it). Returns (action, token).
    """
    token = draw(tokens)
    text = draw(content(token))
    filename = draw(st.sampled_from(RUNTIME_FILENAMES))
    name = draw(st.sampled_from(["action", "rule_" + token]))
    how = draw(st.sampled_from(["info", "warning", "stdlib"]))
    call = (
        f"__import__('logging').getLogger('app.rules').warning({text!r})"
        if how == "stdlib"
        else f"log.{how}({text!r})"
    )
    ns: dict[str, Any] = {"__name__": draw(st.sampled_from(["rules", __name__]))}
    exec(compile(f"def {name}(log):\n    {call}\n", filename, "exec"), ns)
    return ns[name], token


@st.composite
def runtime_pydantic_errors(draw: st.DrawFn) -> tuple[BaseException, str]:
    """
    A validation error of a pydantic model built at runtime from spreadsheet
    headers (customer text) with a constant title, the headers as aliases or
    as field names. Returns (error, token).
    """
    import pydantic

    token = draw(tokens)
    headers = draw(st.lists(content(token), min_size=1, max_size=4, unique=True))
    as_alias = draw(st.booleans())
    if as_alias:
        fields: dict[str, Any] = {
            f"col{i}": (int, pydantic.Field(alias=h)) for i, h in enumerate(headers)
        }
    else:
        # Field names must be identifiers: a header made one, as a loader would.
        headers = [f"h_{token}_{i}" for i in range(len(headers))]
        fields = dict.fromkeys(headers, (int, ...))
    model = pydantic.create_model("SheetRow", **fields)
    try:
        model.model_validate(dict.fromkeys(headers, "not a number " + token))
    except pydantic.ValidationError as e:
        return e, token
    raise AssertionError("the row validated")


# -- sinks ----------------------------------------------------------------------


def new_canary() -> str:
    """A unique piece of "customer content" for one test."""
    return "CANARY" + uuid.uuid4().hex


class Sinks:
    """Everything safelog wrote: the console stream, a listener, stdout/stderr."""

    def __init__(self, console: Any, capsys: Any) -> None:
        self.console = console
        self.capsys = capsys
        self.heard: list[str] = []
        self._std = ""

    def everything(self) -> str:
        out, err = self.capsys.readouterr()
        # readouterr consumes: keep what was read for later calls.
        self._std += out + err
        return "\n".join([self.console.text, *self.heard, self._std])

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.heard]

    def error_records(self) -> list[dict[str, Any]]:
        return [r for r in self.records() if "error" in r]

    def assert_clean(self, canary: str) -> None:
        """The canary (or its random core, in any case) is in no sink."""
        __tracebackhide__ = True
        text = self.everything()
        for needle in (canary, canary[6:], canary[6:].upper()):
            assert needle not in text, f"canary {canary} leaked into a sink"


def types_in(error: dict[str, Any]) -> set[str]:
    """Every exception type named in an error record's tree."""
    out = {error["type"]}
    for key in ("cause", "context"):
        if key in error:
            out |= types_in(error[key])
    for m in error.get("exceptions", ()):
        out |= types_in(m)
    return out
