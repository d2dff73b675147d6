"""
Prove the promise in your own tests: canaries, a full-chain capture, and
the leak and retention assertions.

- `canary` makes a fresh piece of synthetic "customer content" of a kind
  (free text, a multi-line body, an email, a card number, a token, a URL, an
  id-shaped account id). Each carries a random part no real log line holds.
- `capture` records every line the configured chain hands to the sinks,
  *after* every processor: the same string the console and the CloudWatch
  sink receive. When a sink can be read back (the CloudWatch sink against
  moto), the assertions also read what it stored.
- `assert_no_leaks` fails if a canary shows up in that output in any
  encoding a sink could produce; `assert_logged` fails if the metadata the
  test expects did not arrive. A leak test needs both: a library that logs
  nothing passes the first.

No pytest here: the pytest plugin (`safelog.pytest_plugin`) is a thin shell
over this module, and the functions work under any test runner.

Failure messages are the one place safelog prints a canary: it is synthetic.
They never print other logged values.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import re
import secrets
import sys
import tempfile
import threading
import urllib.parse
import warnings

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal

from . import _config, _hooks, _state, _stdio
from .stdlib import bypassing_handlers, describe_handlers


__all__ = [
    "CANARY_KINDS",
    "CanaryFactory",
    "CanaryKind",
    "Leak",
    "SafelogCapture",
    "active_captures",
    "assert_logged",
    "assert_no_leaks",
    "canary",
    "capture",
    "find_leaks",
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
_active: list[SafelogCapture] = []


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
        watchers = list(_active)
    for cap in watchers:
        cap.watch(value)
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


def _profile_of(value: str) -> _Profile:
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


class _Forms:
    """A text and the normalised forms `_match` compares against.

    Whitespace removal and case folding are done once per text, not once per
    canary: a scan compares every text with every canary.
    """

    __slots__ = ("folded", "squeezed", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.squeezed = _WS.sub("", text) if _WS.search(text) else text
        self.folded = text.casefold()


def _match(p: _Profile, text: str | _Forms) -> str | None:
    """The name of the encoding in which *p*'s canary appears in *text*."""
    forms = text if isinstance(text, _Forms) else _Forms(text)
    for name, needle in p.exact:
        if needle in forms.text:
            return name
    for name, needle in p.squeezed:
        if needle in forms.squeezed:
            return name
    folded = forms.folded
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


def _parse(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def _scan(entries: Iterable[tuple[str, str]], profiles: list[_Profile]) -> list[Leak]:
    leaks: list[Leak] = []
    for sink, line in entries:
        parsed = _parse(line)
        record: Mapping[str, Any] = parsed if type(parsed) is dict else {}
        lno = record.get("line")
        module = _str_or_none(record, "module")
        function = _str_or_none(record, "function")
        lineno = lno if type(lno) is int else None
        event = _str_or_none(record, "event")
        level = _str_or_none(record, "level")
        leaves = (
            [(path, _Forms(text)) for path, text in _leaves(parsed)] if parsed is not None else []
        )
        whole_line: _Forms | None = None
        for p in profiles:
            hits = [(path, enc) for path, text in leaves if (enc := _match(p, text)) is not None]
            if not hits:
                # Split across fields, or a line that is not JSON at all.
                if whole_line is None:
                    whole_line = _Forms(line)
                enc = _match(p, whole_line)
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
    profiles = [_profile_of(c) for c in dict.fromkeys(canaries)]
    return _scan(((sink, line) for line in lines), profiles)


def _leak_message(leaks: list[Leak], problems: list[str]) -> str:
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


# -- the process's own streams -----------------------------------------------

_STREAM_FDS: tuple[tuple[_stdio.StreamName, int], ...] = (("stdout", 1), ("stderr", 2))


class _Tee(io.TextIOBase):
    """
    Stands in for ``sys.stdout``/``sys.stderr`` during a capture: passes
    every write on at once (pytest's ``capsys``/``capfd`` still see it) and,
    when the stream it passes to does not write to the descriptor itself,
    also records it for the leak check.
    """

    def __init__(self, fd: int, record_fd: int | None, passed_to: Any) -> None:
        super().__init__()
        self._fd = fd
        self._record_fd = record_fd
        self.passed_to = passed_to

    def write(self, s: str) -> int:
        text: object = s
        if not isinstance(text, str):
            msg = f"write() argument must be str, not {type(text).__name__}"
            raise TypeError(msg)
        if self._record_fd is not None:
            with contextlib.suppress(OSError):
                os.write(self._record_fd, s.encode("utf-8", errors="backslashreplace"))
        if self.passed_to is not None:
            self.passed_to.write(s)
        return len(s)

    def flush(self) -> None:
        _flush(self.passed_to)

    def fileno(self) -> int:
        # subprocess(stdout=sys.stdout) and the like write to the descriptor,
        # which the capture watches too.
        return self._fd

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]  # read-only, as on TextIOWrapper
        return str(getattr(self.passed_to, "encoding", None) or "utf-8")


def _writes_to(stream: object, fd: int) -> bool:
    try:
        return bool(stream.fileno() == fd)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 -- io.UnsupportedOperation, a closed stream
        return False


class _Redirect:
    """
    One of the process's standard streams, watched: file descriptor *fd*
    points at a temporary file (C code, children, ``os.write``), and
    ``sys.<name>`` is a `_Tee` (Python code).
    """

    def __init__(self, name: _stdio.StreamName, fd: int) -> None:
        self.name = name
        self.fd = fd
        self.label = f"process {name} (file descriptor {fd})"
        # O_APPEND: every writer (this process, forked and spawned children,
        # C code) appends, so reading back never moves anyone's offset.
        self.at_fd = tempfile.TemporaryFile(mode="a+b")  # noqa: SIM115 -- closed in close()
        self.from_python = tempfile.TemporaryFile(mode="a+b")  # noqa: SIM115 -- same
        self.saved: int | None = None
        self.previous: Any = None
        self.replayed = 0

    def attach(self) -> None:
        if self.saved is not None:
            return
        current = getattr(sys, self.name)
        _flush(current)
        inner = _stdio.real_stream(current)
        _flush(inner)
        self.saved = os.dup(self.fd)
        os.dup2(self.at_fd.fileno(), self.fd)
        # A stream that writes to the descriptor lands in at_fd already.
        record = None if _writes_to(inner, self.fd) else self.from_python.fileno()
        self.previous = _stdio.swap_real(self.name, _Tee(self.fd, record, inner))

    def detach(self) -> None:
        saved = self.saved
        if saved is None:
            return
        self.saved = None
        _flush(getattr(sys, self.name))
        _stdio.swap_real(self.name, self.previous)
        os.dup2(saved, self.fd)
        os.close(saved)
        # What reached the descriptor goes where it would have gone
        # (pytest's capture, the terminal): the capture looks, never hides.
        data = _read_from(self.at_fd, self.replayed)
        self.replayed += len(data)
        if data:
            with contextlib.suppress(OSError):
                os.write(self.fd, data)

    def read(self) -> str:
        data = _read_from(self.from_python, 0) + _read_from(self.at_fd, 0)
        return data.decode("utf-8", errors="replace")

    def close(self) -> None:
        try:
            self.detach()
        finally:
            self.at_fd.close()
            self.from_python.close()


def _read_from(file: IO[bytes], offset: int) -> bytes:
    fileno = file.fileno()
    size = os.fstat(fileno).st_size
    if size <= offset:
        return b""
    return os.pread(fileno, size - offset, offset)


def _flush(stream: object) -> None:
    flush = getattr(stream, "flush", None)
    if callable(flush):
        with contextlib.suppress(Exception):
            flush()


class _ProcessStreams:
    """File descriptors 1 and 2 of this process, watched while a capture is active."""

    def __init__(self) -> None:
        self.redirects: list[_Redirect] = []
        self.failed = False

    def start(self) -> None:
        for name, fd in _STREAM_FDS:
            try:
                redirect = _Redirect(name, fd)
                redirect.attach()
            except (OSError, ValueError):
                # A closed or missing descriptor (a daemon, pythonw): said in
                # problems(), never silently passed.
                self.failed = True
                continue
            self.redirects.append(redirect)

    def pause(self) -> None:
        for redirect in reversed(self.redirects):
            with contextlib.suppress(OSError, ValueError):
                redirect.detach()

    def resume(self) -> None:
        for redirect in self.redirects:
            try:
                redirect.attach()
            except (OSError, ValueError):
                self.failed = True

    def entries(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for redirect in self.redirects:
            out.extend((redirect.label, line) for line in redirect.read().splitlines() if line)
        return out

    def stop(self) -> None:
        for redirect in reversed(self.redirects):
            with contextlib.suppress(OSError, ValueError):
                redirect.close()
        self.redirects.clear()


# -- the capture -------------------------------------------------------------

# pytest's logging plugin puts these on the root logger around every test
# phase (caplog, "Captured log" report sections, --log-cli, --log-file).
# They belong to the test run, not to the service: what they see shows up
# in test reports only. The capture tolerates them; any other handler that
# sees stdlib records before safelog's chain fails the assertions.
_TEST_RUNNER_HANDLER_MODULES = frozenset({"_pytest.logging"})


def _is_test_runner_handler(handler: logging.Handler) -> bool:
    return type(handler).__module__ in _TEST_RUNNER_HANDLER_MODULES


# What the default of each hook does with the content it is given.
_HOOK_DEFAULTS = {
    "excepthook": "an uncaught exception prints its message and traceback to stderr",
    "threading": "an exception ending a thread prints its message and traceback to stderr",
    "unraisable": (
        "an exception in __del__ or a weakref callback prints its message and "
        "the object's repr to stderr"
    ),
    "warnings": "warnings.warn() prints its message to stderr",
}


def _is_test_runner_hook(name: str, current: object) -> bool:
    """
    *current* belongs to the test run: pytest's own hooks, or warnings
    being recorded into a list (``catch_warnings(record=True)``, used by
    ``pytest.warns`` and pytest's warning capture), which prints nothing.
    """
    module = getattr(current, "__module__", None)
    if type(module) is str and module.split(".")[0] == "_pytest":
        return True
    if name == "warnings":
        impl = getattr(warnings, "_showwarnmsg_impl", None)
        return type(getattr(impl, "__self__", None)) is list
    return False


def _hook_problems() -> list[str]:
    configured = _hooks.installed()
    out: list[str] = []
    for name, where, current in _hooks.not_in_effect():
        if name not in configured:
            out.append(
                f"safelog's {where} hook is not installed (configure(hooks=...) left out "
                f"{name!r}): {_HOOK_DEFAULTS[name]}, which the capture cannot see"
            )
        elif not _is_test_runner_hook(name, current):
            out.append(
                f"{where} was replaced after safelog.configure() installed its hook: "
                f"the replacement may print what it gets ({_HOOK_DEFAULTS[name]} by default)"
            )
    return out


def _sink_label(sink: object) -> str:
    name = type(sink).__name__
    if name.endswith("Sink") and len(name) > 4:
        name = name[:-4]
    return name.lower()


def _same(actual: Any, expected: Any) -> bool:
    if type(expected) is bool or type(actual) is bool:
        return actual is expected
    if type(expected) in (int, float) and type(actual) in (int, float):
        return bool(actual == expected)
    return type(actual) is type(expected) and bool(actual == expected)


def _show_expected(value: Any) -> str:
    # The test's own expectation, shown only when it is a plain JSON value.
    if value is None or type(value) in (str, int, float, bool):
        return json.dumps(value, ensure_ascii=False)
    return f"<{type(value).__name__} given by the test>"


_capture_lock = threading.Lock()


class SafelogCapture:
    """
    Every line the configured chain renders, as the sinks get it.

    Made by `capture`; use as a context manager. Thread-safe: lines logged
    on any thread while it is active are recorded.
    """

    def __init__(
        self, *, read_back_timeout: float = 10.0, strict: bool = True, streams: bool = True
    ) -> None:
        self.read_back_timeout = read_back_timeout
        self.strict = strict
        self._streams: _ProcessStreams | None = _ProcessStreams() if streams else None
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._watched: dict[str, None] = {}
        self._state: Any = None
        self._label = "dispatched line"
        # One bound-method object: the dispatcher removes listeners by
        # identity, and each attribute access makes a new bound method.
        self._listener = self._on_line

    # context manager

    def __enter__(self) -> SafelogCapture:
        state = _state.current()
        if state is None:
            msg = (
                "safelog.testing.capture(): safelog is not configured. Call "
                "safelog.configure(...) first (in an autouse fixture, say): the "
                "capture checks your configured chain, never a default one"
            )
            raise RuntimeError(msg)
        sinks = [_sink_label(s) for s in state.chain.dispatcher.sinks]
        self._label = f"dispatched line (to {', '.join(sinks) or 'no sink'})"
        self._state = state
        with _capture_lock:
            state.chain.dispatcher.add_listener(self._listener)
        with _registry_lock:
            _active.append(self)
        if self._streams is not None:
            self._streams.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._streams is not None:
            self._streams.stop()
        with _registry_lock:
            if self in _active:
                _active.remove(self)
        if self._state is not None:
            with _capture_lock:
                self._state.chain.dispatcher.remove_listener(self._listener)

    def _on_line(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)

    # what was captured

    @property
    def lines(self) -> list[str]:
        """The rendered lines, oldest first (a copy)."""
        with self._lock:
            return list(self._lines)

    @property
    def records(self) -> list[dict[str, Any]]:
        """The rendered lines parsed as JSON records, oldest first."""
        out = []
        for line in self.lines:
            parsed = _parse(line)
            if type(parsed) is dict:
                out.append(parsed)
        return out

    def clear(self) -> None:
        """Forget the lines captured so far."""
        with self._lock:
            self._lines.clear()

    def watch(self, *canaries: str) -> None:
        """Also check *canaries* in ``assert_no_leaks()`` without arguments."""
        with self._lock:
            for c in canaries:
                self._watched[c] = None

    @property
    def watched(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._watched)

    def _readable_sinks(self) -> list[Any]:
        if self._state is None:
            return []
        return [
            s for s in self._state.chain.dispatcher.sinks if callable(getattr(s, "read_back", None))
        ]

    def stored(self) -> list[tuple[str, str]]:
        """
        (sink, line) for what each sink that can be read back (the
        CloudWatch sink) stored. Empty when no such sink is configured.
        """
        out: list[tuple[str, str]] = []
        for sink in self._readable_sinks():
            label = f"{_sink_label(sink)} (stored copy, read back)"
            try:
                lines = sink.read_back(timeout=self.read_back_timeout)
            except Exception as exc:  # noqa: BLE001 -- reported by type only
                # The type only: an SDK message can echo request contents.
                msg = (
                    f"safelog.testing: reading back the {_sink_label(sink)} sink failed "
                    f"({type(exc).__name__})"
                )
                raise AssertionError(msg) from None
            out.extend((label, line) for line in lines if type(line) is str)
        return out

    def pause_streams(self) -> None:
        """
        Give file descriptors 1 and 2 back to whoever had them (a test
        runner switching its own capture between test phases) and hand on
        what reached them so far; `resume_streams` watches them again.
        """
        if self._streams is not None:
            self._streams.pause()

    def resume_streams(self) -> None:
        """Watch file descriptors 1 and 2 again after `pause_streams`."""
        if self._streams is not None:
            self._streams.resume()

    def process_output(self) -> list[tuple[str, str]]:
        """
        (stream, line) for what reached this process's file descriptors 1
        and 2 since the capture began: ``print()``, CPython's own tracebacks,
        children's output, C code. Empty with ``streams=False``.
        """
        if self._streams is None:
            return []
        return self._streams.entries()

    def problems(self) -> list[str]:
        """Reasons the capture cannot vouch for the output (empty when sound)."""
        out: list[str] = []
        state = _state.current()
        if state is None or state is not self._state:
            out.append(
                "safelog was shut down or reconfigured while the capture was active: "
                "later records went to a chain it does not watch"
            )
            return out
        if self._streams is not None and self._streams.failed:
            out.append(
                "the process's stdout or stderr (file descriptor 1 or 2) could not be "
                "watched: text that bypasses logging there goes unchecked"
            )
        if not self.strict:
            return out
        if state.handler is None:
            out.append(
                "safelog is configured with capture_stdlib=False: stdlib logging records "
                "do not go through the chain, so the capture cannot see them"
            )
        # self_check counts pytest's handlers as bypassing; that one check is
        # redone below without them.
        out.extend(
            p
            for p in _config.self_check()
            if p.code not in {"handler-bypass", "hook-replaced"}  # redone below
        )
        bypass = [(lg, h) for lg, h in bypassing_handlers() if not _is_test_runner_handler(h)]
        if bypass:
            out.append(
                f"stdlib handlers bypass safelog: {describe_handlers(bypass)} "
                "(they see records before the chain sanitizes them)"
            )
        out.extend(_hook_problems())
        return out

    # assertions

    def assert_no_leaks(self, *canaries: str) -> None:
        """
        Fail if any canary appears in any captured output: the dispatched
        lines and, when a sink can be read back, what it stored.

        Without arguments, checks every canary made while the capture was
        active (and any given to `watch`).
        """
        __tracebackhide__ = True
        targets = list(dict.fromkeys(canaries)) or list(self.watched)
        if not targets:
            msg = (
                "safelog.testing: assert_no_leaks() was given no canaries and none were "
                "made during the capture: it would check nothing"
            )
            raise AssertionError(msg)
        profiles = [_profile_of(c) for c in targets]
        problems = self.problems()
        entries = [(self._label, line) for line in self.lines]
        entries.extend(self.stored())
        entries.extend(self.process_output())
        leaks = _scan(entries, profiles)
        if leaks or problems:
            raise AssertionError(_leak_message(leaks, problems))

    def assert_logged(self, event: str, /, **fields: Any) -> dict[str, Any]:
        """
        Fail unless a record with *event* and these field values was
        dispatched (and, when a sink can be read back, stored). Returns the
        dispatched record.
        """
        __tracebackhide__ = True
        sources: list[tuple[str, list[dict[str, Any]]]] = [(self._label, self.records)]
        by_sink: dict[str, list[dict[str, Any]]] = {}
        for label, line in self.stored():
            parsed = _parse(line)
            by_sink.setdefault(label, [])
            if type(parsed) is dict:
                by_sink[label].append(parsed)
        if not by_sink and self._readable_sinks():
            by_sink = {
                f"{_sink_label(s)} (stored copy, read back)": [] for s in self._readable_sinks()
            }
        sources.extend(by_sink.items())
        found: dict[str, Any] | None = None
        for label, records in sources:
            hit = next(
                (
                    r
                    for r in records
                    if r.get("event") == event
                    and all(k in r and _same(r[k], v) for k, v in fields.items())
                ),
                None,
            )
            if hit is None:
                raise AssertionError(_missing_message(label, records, event, fields))
            if found is None:
                found = hit
        assert found is not None
        return found


def _missing_message(
    label: str, records: list[dict[str, Any]], event: str, fields: Mapping[str, Any]
) -> str:
    want = ", ".join(f"{k}={_show_expected(v)}" for k, v in fields.items())
    lines = [
        f"safelog.testing: no record with event {event!r}"
        + (f" and {want}" if want else "")
        + f" in {label}",
        f"  {len(records)} record(s) captured there",
    ]
    same = [r for r in records if r.get("event") == event]
    if not same:
        lines.append(f"  none has event {event!r}")
    for r in same[:5]:
        # Field names only: the logged values are not echoed.
        missing = [k for k in fields if k not in r]
        differ = [k for k in fields if k in r and not _same(r[k], fields[k])]
        bits = []
        if missing:
            bits.append(f"missing {', '.join(missing)}")
        if differ:
            bits.append(f"different value for {', '.join(differ)}")
        lines.append(f"  a record with this event: {'; '.join(bits)}")
    return "\n".join(lines)


def capture(
    *, read_back_timeout: float = 10.0, strict: bool = True, streams: bool = True
) -> SafelogCapture:
    """
    A context manager recording every line the configured chain renders,
    and (with *streams*, the default) everything that reaches the process's
    stdout and stderr at file-descriptor level while it is active: a
    canary printed by ``traceback.print_exc()``, a child process or C code
    fails `assert_no_leaks` too. That output still reaches pytest's own
    capture (or the terminal) when the capture ends.

    safelog must be configured first. With *strict* (the default) the
    assertions also fail when something lets records bypass the chain
    (a foreign stdlib handler, ``capture_stdlib=False``, structlog
    reconfigured, one of safelog's hooks left out by ``configure(hooks=...)``
    or replaced since). pytest's own logging handlers and hooks are
    tolerated: they belong to the test run. *read_back_timeout* bounds each read of a sink's stored
    copy.
    """
    return SafelogCapture(read_back_timeout=read_back_timeout, strict=strict, streams=streams)


def active_captures() -> tuple[SafelogCapture, ...]:
    """The captures active right now, outermost first (the pytest plugin pauses them)."""
    with _registry_lock:
        return tuple(_active)


def _active_capture(name: str) -> SafelogCapture:
    with _registry_lock:
        cap = _active[-1] if _active else None
    if cap is None:
        msg = f"safelog.testing.{name}() needs an active safelog.testing.capture()"
        raise RuntimeError(msg)
    return cap


def assert_no_leaks(*canaries: str) -> None:
    """`SafelogCapture.assert_no_leaks` on the innermost active capture."""
    __tracebackhide__ = True
    _active_capture("assert_no_leaks").assert_no_leaks(*canaries)


def assert_logged(event: str, /, **fields: Any) -> dict[str, Any]:
    """`SafelogCapture.assert_logged` on the innermost active capture."""
    __tracebackhide__ = True
    return _active_capture("assert_logged").assert_logged(event, **fields)


if TYPE_CHECKING:
    #: Deprecated: the old name of `SafelogCapture`.
    LogCapture = SafelogCapture


def __getattr__(name: str) -> Any:
    # The old name clashed with structlog.testing.LogCapture; it still works
    # for a while, with a warning.
    if name == "LogCapture":
        warnings.warn(
            "safelog.testing.LogCapture is deprecated: use safelog.testing.SafelogCapture",
            DeprecationWarning,
            stacklevel=2,
        )
        return SafelogCapture
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
