"""
Canaries and the leak detector behind `safelog.testing`.

`canary` makes synthetic customer content with a random part no real log
line holds; `find_leaks` looks for canaries in output in every encoding a
sink could produce (JSON escapes, base64, URL encoding, split across
whitespace). Public through `safelog.testing`; no pytest here.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import urllib.parse

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal


__all__ = [
    "CANARY_KINDS",
    "CanaryFactory",
    "CanaryKind",
    "Leak",
    "add_watcher",
    "canary",
    "find_leaks",
    "leak_message",
    "parse_line",
    "profile_of",
    "remove_watcher",
    "scan",
]

CanaryKind = Literal["text", "body", "email", "card", "token", "url", "account_id"]

#: Every kind `canary` makes.
CANARY_KINDS: tuple[CanaryKind, ...] = (
    "text",
    "body",
    "email",
    "card",
    "token",
    "url",
    "account_id",
)

# 32 symbols without look-alikes (no 0/o, 1/l): 5 bits a character, and
# casefolding cannot merge two of them.
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
_CORE_LEN = 20  # 100 random bits: unique for the life of any test suite.
# A fragment is a window of a canary's random part. 12 characters of a
# 32-symbol alphabet are 60 bits: over a megabyte of captured output and a
# hundred canaries the chance of a false hit is below 1e-9. Card numbers
# are digits (3.3 bits each): 14-digit windows (~46 bits, >= 13 random
# digits) keep the same order of safety, and still pass the PCI "first six,
# last four" masked form, which is not a leak.
_WINDOW = 12
_CARD_WINDOW = 14
_MIN_PLAIN = 8
_MAX_REGISTRY = 100_000
_MAX_SHOWN = 20


def _core(n: int = _CORE_LEN) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _luhn_complete(payload: str) -> str:
    """*payload* plus the Luhn check digit."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            # Counting from the right, the digit next to the (future) check
            # digit is doubled.
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return payload + str((10 - total % 10) % 10)


def _make(kind: str) -> tuple[str, tuple[str, ...]]:
    """A new canary of *kind* and its distinctive random parts."""
    core = _core()
    if kind == "text":
        # Non-ASCII (Latin, a dash, an emoji outside the BMP) and a quote,
        # so JSON and repr escaping both change it.
        return f"Zoë's notes {core} \u2014 Verträge für Müller \U0001f4c4", (core,)
    if kind == "body":
        value = (
            f"Hi team,\nthe draft for Zoë is attached ({core}).\n\n"
            '"Budget": 12\u202f500 \u20ac\tsaved as C:\\Users\\zoe\\draft.docx\n'
            "\u00c0 bient\u00f4t,\nZo\u00eb\n"
        )
        return value, (core,)
    if kind == "email":
        return f"zoe.{core}@example.org", (core,)
    if kind == "card":
        digits = "4" + "".join(secrets.choice("0123456789") for _ in range(14))
        number = _luhn_complete(digits)
        return number, (number,)
    if kind == "token":
        header = _b64url(b'{"alg":"HS256","typ":"JWT"}')
        payload = _b64url(
            json.dumps({"sub": core, "email": "zoe@example.org", "iat": 1700000000}).encode()
        )
        signature = secrets.token_urlsafe(32)
        return f"{header}.{payload}.{signature}", (core, signature)
    if kind == "url":
        value = f"https://app.example.com/pages/{core}/export?q=Zo%C3%AB+M%C3%BCller&ref={core}"
        return value, (core,)
    if kind == "account_id":
        # Only [A-Za-z0-9._:-] and short: it passes safelog.Id().
        return f"acct-{core}", (core,)
    msg = f"canary: kind must be one of {', '.join(CANARY_KINDS)}"
    raise ValueError(msg)


@dataclass(frozen=True)
class _Info:
    kind: str
    parts: tuple[str, ...]


_registry: dict[str, _Info] = {}
_registry_lock = threading.Lock()
#: The `watch` methods of the active captures: told of each new canary.
_watchers: list[Callable[[str], None]] = []


def canary(kind: CanaryKind = "text") -> str:
    """
    Return a fresh, unique piece of synthetic customer content of *kind*.

    ``"text"`` (free text with non-ASCII), ``"body"`` (multi-line),
    ``"email"``, ``"card"`` (a Luhn-valid number), ``"token"`` (JWT-like),
    ``"url"`` (with a query string), ``"account_id"`` (id-shaped: it passes
    an ``Id()`` field, which is exactly the case a leak test must catch when
    a policy declares personal data as a plain id).

    The value is a plain `str`. Canaries made while a `capture` is active
    are checked by that capture's ``assert_no_leaks()`` without arguments.
    """
    if kind not in CANARY_KINDS:
        msg = f"canary: kind must be one of {', '.join(CANARY_KINDS)}"
        raise ValueError(msg)
    value, parts = _make(kind)
    with _registry_lock:
        if len(_registry) >= _MAX_REGISTRY:
            # Oldest first: dicts keep insertion order.
            for old in list(_registry)[: _MAX_REGISTRY // 10]:
                del _registry[old]
        _registry[value] = _Info(kind, parts)
        watchers = list(_watchers)
    for watch in watchers:
        watch(value)
    return value


class CanaryFactory:
    """
    Makes canaries and remembers them (the pytest ``canary`` fixture):
    ``canary()`` or ``canary("email")``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._issued: list[str] = []

    def __call__(self, kind: CanaryKind = "text") -> str:
        value = canary(kind)
        with self._lock:
            self._issued.append(value)
        return value

    @property
    def issued(self) -> tuple[str, ...]:
        """Every canary this factory made, oldest first."""
        with self._lock:
            return tuple(self._issued)


# -- the detector ------------------------------------------------------------


@dataclass(frozen=True)
class _Profile:
    value: str
    kind: str
    exact: tuple[tuple[str, str], ...]
    folded: tuple[tuple[str, str], ...]
    squeezed: tuple[tuple[str, str], ...]
    windows: tuple[str, ...]


def _b64_needles(data: bytes) -> list[tuple[str, str]]:
    """
    What *data* looks like inside any base64 stream, at any offset.

    A stream's 3-byte groups start at one of three alignments relative to
    *data*; for each, the whole groups that hold only bytes of *data* encode
    the same way wherever *data* sits.
    """
    out: list[tuple[str, str]] = []
    for shift in range(3):
        chunk = data[shift:]
        chunk = chunk[: len(chunk) // 3 * 3]
        if len(chunk) < 9:
            continue
        out.append(("base64", base64.b64encode(chunk).decode("ascii")))
        out.append(("base64 (URL-safe)", base64.urlsafe_b64encode(chunk).decode("ascii")))
    return out


@lru_cache(maxsize=4096)
def _profile(value: str, kind: str, parts: tuple[str, ...]) -> _Profile:
    exact: list[tuple[str, str]] = [
        ("raw", value),
        ("JSON-escaped", json.dumps(value, ensure_ascii=False)[1:-1]),
        ("JSON-escaped (ASCII \\uXXXX)", json.dumps(value)[1:-1]),
        ("repr-escaped", repr(value)[1:-1]),
        ("repr-escaped (ASCII)", ascii(value)[1:-1]),
        ("repr-escaped (bytes)", repr(value.encode("utf-8"))[2:-1]),
        ("URL-encoded (quote)", urllib.parse.quote(value)),
        ("URL-encoded (quote, safe='')", urllib.parse.quote(value, safe="")),
        ("URL-encoded (quote_plus)", urllib.parse.quote_plus(value)),
        ("hex", value.encode("utf-8").hex()),
    ]
    if kind == "card":
        groups = [value[i : i + 4] for i in range(0, len(value), 4)]
        exact.append(("raw (grouped)", " ".join(groups)))
        exact.append(("raw (grouped)", "-".join(groups)))
    exact.extend(("hex (fragment)", part.encode("utf-8").hex()) for part in parts if part != value)
    seen: set[str] = set()
    unique: list[tuple[str, str]] = []
    for name, needle in exact:
        if needle not in seen:
            seen.add(needle)
            unique.append((name, needle))
    folded_seen: set[str] = set()
    folded: list[tuple[str, str]] = []
    for name, needle in unique:
        f = needle.casefold()
        if f not in folded_seen:
            folded_seen.add(f)
            folded.append((f"case-folded, {name}", f))
    b64: list[tuple[str, str]] = _b64_needles(value.encode("utf-8"))
    for part in parts:
        b64.extend(_b64_needles(part.encode("utf-8")))
    windows: list[str] = []
    for part in parts:
        size = _CARD_WINDOW if kind == "card" else _WINDOW
        for i in range(len(part) - size + 1):
            w = part[i : i + size].casefold()
            if w not in windows:
                windows.append(w)
    return _Profile(
        value=value,
        kind=kind,
        exact=tuple(unique),
        folded=tuple(folded),
        squeezed=tuple(dict.fromkeys(b64)),
        windows=tuple(windows),
    )


def profile_of(value: str) -> _Profile:
    if type(value) is not str:
        msg = "canaries must be strings (made by safelog.testing.canary())"
        raise TypeError(msg)
    with _registry_lock:
        info = _registry.get(value)
    if info is None:
        if len(value) < _MIN_PLAIN:
            msg = (
                f"a canary not made by safelog.testing.canary() must be at least "
                f"{_MIN_PLAIN} characters, or it would match innocent output"
            )
            raise ValueError(msg)
        # Not ours: only whole-value encodings, no fragments (we do not know
        # which part is distinctive).
        return _profile(value, "custom", ())
    return _profile(value, info.kind, info.parts)


_WS = re.compile(r"\s+")


def _match(p: _Profile, text: str) -> str | None:
    """The name of the encoding in which *p*'s canary appears in *text*."""
    for name, needle in p.exact:
        if needle in text:
            return name
    squeezed = _WS.sub("", text) if _WS.search(text) else text
    for name, needle in p.squeezed:
        if needle in squeezed:
            return name
    folded = text.casefold()
    for name, needle in p.folded:
        if needle in folded:
            return name
    for window in p.windows:
        if window in folded:
            return f"fragment ({len(window)}+ characters of its random part)"
    return None


@dataclass(frozen=True)
class Leak:
    """One canary found in one captured line."""

    #: The canary (synthetic; safe to print in a test failure).
    canary: str
    #: The canary's kind (``"custom"`` for a string not made by `canary`).
    kind: str
    #: How it was encoded where it was found (``"raw"``, ``"base64"``, ...).
    encoding: str
    #: Which output: the dispatched line and the sinks it went to, or a
    #: sink's stored copy.
    sink: str
    #: JSON path of the field inside the record (``$.error.frames[0]``).
    path: str
    #: The call site of the record that carried it, as the record tells it.
    module: str | None
    function: str | None
    line: int | None
    event: str | None
    level: str | None

    def __str__(self) -> str:
        where = self.module or "<unknown module>"
        if self.function:
            where += f":{self.function}"
        if self.line is not None:
            where += f", line {self.line}"
        extra = []
        if self.event is not None:
            extra.append(f"event {self.event!r}")
        if self.level is not None:
            extra.append(f"level {self.level!r}")
        if extra:
            where += f" ({', '.join(extra)})"
        return (
            f"canary of kind {self.kind!r} found, {self.encoding}\n"
            f"    canary:    {self.canary!r}\n"
            f"    sink:      {self.sink}\n"
            f"    field:     {self.path}\n"
            f"    call site: {where}"
        )


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if _IDENT.match(key) else f"{path}[{json.dumps(key)}]"


def _leaves(obj: Any) -> Iterator[tuple[str, str]]:
    """(JSON path, text) for every key and scalar inside a parsed record."""
    stack: list[tuple[str, Any]] = [("$", obj)]
    while stack:
        path, o = stack.pop()
        if type(o) is dict:
            items = list(o.items())
            for k, v in reversed(items):
                stack.append((_child(path, k), v))
            for k, _ in items:
                yield f"{_child(path, k)} (the key itself)", k
        elif type(o) is list:
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(o))))
        elif type(o) is str:
            yield path, o
        elif type(o) in (int, float):
            # A card number logged through a numeric field is still a leak.
            yield path, str(o)


def _str_or_none(record: Mapping[str, Any], key: str) -> str | None:
    v = record.get(key)
    return v if type(v) is str and len(v) <= 200 else None


def parse_line(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def scan(entries: Iterable[tuple[str, str]], profiles: list[_Profile]) -> list[Leak]:
    leaks: list[Leak] = []
    for sink, line in entries:
        parsed = parse_line(line)
        record: Mapping[str, Any] = parsed if type(parsed) is dict else {}
        lno = record.get("line")
        module = _str_or_none(record, "module")
        function = _str_or_none(record, "function")
        lineno = lno if type(lno) is int else None
        event = _str_or_none(record, "event")
        level = _str_or_none(record, "level")
        leaves = list(_leaves(parsed)) if parsed is not None else []
        for p in profiles:
            hits = [(path, enc) for path, text in leaves if (enc := _match(p, text)) is not None]
            if not hits:
                # Split across fields, or a line that is not JSON at all.
                enc = _match(p, line)
                if enc is not None:
                    whole = (
                        "$ (the line as a whole)" if parsed is not None else "(not a JSON record)"
                    )
                    hits = [(whole, enc)]
            leaks.extend(
                Leak(p.value, p.kind, enc, sink, path, module, function, lineno, event, level)
                for path, enc in hits
            )
    return leaks


def find_leaks(output: str | Iterable[str], *canaries: str, sink: str = "output") -> list[Leak]:
    """
    Every place a canary appears in *output* (one line or several), in any
    encoding `assert_no_leaks` knows. Lines that are JSON records give field
    paths and call sites.
    """
    lines = [output] if isinstance(output, str) else list(output)
    profiles = [profile_of(c) for c in dict.fromkeys(canaries)]
    return scan(((sink, line) for line in lines), profiles)


def leak_message(leaks: list[Leak], problems: list[str]) -> str:
    parts: list[str] = []
    if leaks:
        parts.append(
            f"safelog.testing: {len(leaks)} leak(s) of synthetic customer content "
            "(canaries) in log output"
        )
        for i, leak in enumerate(leaks[:_MAX_SHOWN], 1):
            parts.append(f"  leak {i}: {leak}")
        if len(leaks) > _MAX_SHOWN:
            parts.append(f"  ... and {len(leaks) - _MAX_SHOWN} more")
        parts.append(
            "Canaries are synthetic test data: this message is the only place they are printed."
        )
    if problems:
        parts.append("safelog.testing: this capture cannot vouch for the log output:")
        parts.extend(f"  - {p}" for p in problems)
    return "\n".join(parts)


def add_watcher(watch: Callable[[str], None]) -> None:
    """Tell *watch* of every canary made from now on (a capture's `watch`)."""
    with _registry_lock:
        _watchers.append(watch)


def remove_watcher(watch: Callable[[str], None]) -> None:
    """Stop telling *watch* of new canaries."""
    with _registry_lock:
        if watch in _watchers:
            _watchers.remove(watch)
