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

import json
import logging
import threading
import warnings

from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import _config, _hooks, _state
from ._leaks import (
    CANARY_KINDS,
    CanaryFactory,
    CanaryKind,
    Leak,
    add_watcher,
    canary,
    find_leaks,
    leak_message,
    parse_line,
    profile_of,
    remove_watcher,
    scan,
)
from ._process_streams import ProcessStreams
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

# The active captures, outermost first.
_active: list[SafelogCapture] = []
_active_lock = threading.Lock()

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
        self._streams: ProcessStreams | None = ProcessStreams() if streams else None
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
        with _active_lock:
            _active.append(self)
        add_watcher(self.watch)
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
        remove_watcher(self.watch)
        with _active_lock:
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
            parsed = parse_line(line)
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
        profiles = [profile_of(c) for c in targets]
        problems = self.problems()
        entries = [(self._label, line) for line in self.lines]
        entries.extend(self.stored())
        entries.extend(self.process_output())
        leaks = scan(entries, profiles)
        if leaks or problems:
            raise AssertionError(leak_message(leaks, problems))

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
            parsed = parse_line(line)
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
    with _active_lock:
        return tuple(_active)


def _active_capture(name: str) -> SafelogCapture:
    with _active_lock:
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
