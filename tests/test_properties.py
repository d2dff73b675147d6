"""
The core invariant as properties: no canary survives the chain, while
declared metadata does.

Sized for CI by the Hypothesis profile (``ci``: 60 examples per property);
run the long profile on demand::

    HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest tests/test_properties.py
"""

from __future__ import annotations

import json
import logging
import re

from collections.abc import Mapping
from typing import Any

import pytest
import structlog

from hypothesis import given
from hypothesis import strategies as st

import safelog

from safelog.processors import MARKER_EVENT, MARKER_LOGGER
from strategies import (
    CANARY_RE,
    VALID_VALUES,
    content,
    nested_values,
    runtime_compiled_logging,
    runtime_pydantic_errors,
    tokens,
)


POLICY = {
    "page_count": safelog.Int(min=0, max=10**6),
    "duration_ms": safelog.Float(min=0),
    "cached": safelog.Bool(),
    "status": safelog.Enum("ok", "failed"),
    "request_id": safelog.Id(),
    "trace_id": safelog.Uuid(),
    "tenant": safelog.Hashed(),
}
KEY = b"property-test-hash-key-0123456789abcdef"
# String literals of this module: the only events and logger names that may pass.
EVENTS = ("page_exported", "export_failed", "Import finished for %s", "user signed in")
LOGGER_NAMES = ("app.billing", "app.export")

_CANARY = re.compile(CANARY_RE)
_ID_SHAPED = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class Sink:
    """A console stream that keeps every line."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._partial = ""

    def write(self, s: str) -> int:
        self._partial += s
        *done, self._partial = self._partial.split("\n")
        self.lines.extend(done)
        return len(s)

    def flush(self) -> None:
        return None


def _configure(sink: Sink) -> None:
    safelog.configure(
        service="props",
        fields=POLICY,
        console=sink,  # type: ignore[arg-type]
        hash_key=KEY,
        level="DEBUG",
    )


def _assert_no_canary(lines: list[str]) -> None:
    __tracebackhide__ = True
    for i, line in enumerate(lines):
        m = _CANARY.search(line)
        assert m is None, f"canary {m.group()!r} leaked in line {i}: {line}"


@st.composite
def structlog_calls(draw: st.DrawFn) -> dict[str, Any]:
    """One structlog call: event, declared fields (valid and not), undeclared keys."""
    constant = draw(st.booleans())
    token = draw(tokens)
    event = (
        draw(st.sampled_from(EVENTS))
        if constant
        else draw(
            st.sampled_from([f"user_{token}", "page_" + token, f"{token} exported", f"{token}"])
        )
    )
    valid = {k: draw(v) for k, v in VALID_VALUES.items() if draw(st.booleans())}
    # An id-shaped canary is a *valid* Id (the case safelog.testing's
    # "account_id" canary exists for), so it is not an invalid value here.
    invalid = {
        k: draw(nested_values().filter(lambda v: not _ID_SHAPED.fullmatch(str(v))))
        for k in ("page_count", "duration_ms", "cached", "status", "request_id", "trace_id")
        if k not in valid and draw(st.booleans())
    }
    undeclared = draw(
        st.dictionaries(
            st.one_of(
                tokens.map(lambda t: "k_" + t),
                content(token),
                st.sampled_from(
                    [
                        "timestamp",
                        "level",
                        "logger",
                        "service",
                        "module",
                        "line",
                        "dropped",
                        "error",
                    ]
                ),
            ),
            nested_values(),
            max_size=4,
        )
    )
    tenant = draw(st.one_of(st.none(), content(token)))
    args = draw(st.lists(nested_values(), max_size=2))
    how = draw(st.sampled_from(["direct", "bind", "contextvars"]))
    return {
        "event": event,
        "constant": constant,
        "valid": valid,
        "invalid": invalid,
        "undeclared": undeclared,
        "tenant": tenant,
        "args": tuple(args),
        "how": how,
    }


class TestStructlogCalls:
    @given(calls=st.lists(structlog_calls(), min_size=1, max_size=4))
    def test_no_canary_survives_and_declared_fields_arrive(
        self, calls: list[dict[str, Any]]
    ) -> None:
        """Whatever is logged, no canary reaches the sink; declared fields arrive intact."""
        sink = Sink()
        _configure(sink)
        log = safelog.get_logger("app.export")
        try:
            for c in calls:
                kw: dict[str, Any] = {**c["invalid"], **c["undeclared"], **c["valid"]}
                if c["tenant"] is not None:
                    kw["tenant"] = c["tenant"]
                if c["how"] == "bind":
                    log.bind(**kw).info(c["event"], *c["args"])
                elif c["how"] == "contextvars":
                    structlog.contextvars.bind_contextvars(**kw)
                    log.info(c["event"], *c["args"])
                    structlog.contextvars.clear_contextvars()
                else:
                    log.info(c["event"], *c["args"], **kw)
        finally:
            safelog.shutdown()
            structlog.contextvars.clear_contextvars()

        _assert_no_canary(sink.lines)
        assert len(sink.lines) == len(calls), "every call yields exactly one record"
        for c, line in zip(calls, sink.lines, strict=False):
            rec = json.loads(line)
            assert rec["event"] == (c["event"] if c["constant"] else MARKER_EVENT)
            assert rec["logger"] == "app.export"
            assert rec["service"] == "props"
            for k, v in c["valid"].items():
                assert rec[k] == v, k
            for k in c["invalid"]:
                assert rec[k] == POLICY[k].marker, k
            if c["tenant"] is not None:
                assert rec["tenant"].startswith("k")
                assert ":" in rec["tenant"]
            # Undeclared keys and positional args are counted, never named.
            n_undeclared = len(set(c["undeclared"]) - set(c["valid"]) - set(c["invalid"]))
            assert rec.get("dropped", 0) == n_undeclared + len(c["args"])


@st.composite
def stdlib_calls(draw: st.DrawFn) -> dict[str, Any]:
    token = draw(tokens)
    constant = draw(st.booleans())
    msg = (
        draw(st.sampled_from(EVENTS))
        if constant
        else draw(st.one_of(content(token), st.just(HostileMsg(token))))
    )
    named = draw(st.booleans())
    name = draw(st.sampled_from(LOGGER_NAMES)) if named else "tenant." + token
    args = draw(st.lists(nested_values(), max_size=3))
    extra = draw(st.dictionaries(tokens.map(lambda t: "x_" + t), nested_values(), max_size=3))
    level = draw(st.sampled_from([logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR]))
    return {
        "msg": msg,
        "constant": constant,
        "name": name,
        "named": named,
        "args": tuple(args),
        "extra": extra,
        "level": level,
    }


def _n_args(args: tuple[Any, ...]) -> int:
    # LogRecord's own rule: one non-empty mapping argument *is* the args.
    if len(args) == 1 and isinstance(args[0], Mapping) and args[0]:
        return len(args[0])
    return len(args)


class HostileMsg:
    """A non-string message object (logging would str() it)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __str__(self) -> str:
        return self.token

    __repr__ = __str__


class TestStdlibCalls:
    @given(calls=st.lists(stdlib_calls(), min_size=1, max_size=4))
    def test_no_canary_survives_stdlib_records(self, calls: list[dict[str, Any]]) -> None:
        """Stdlib records keep only constant templates, trusted names and the level."""
        sink = Sink()
        _configure(sink)
        try:
            for c in calls:
                logging.getLogger(c["name"]).log(c["level"], c["msg"], *c["args"], extra=c["extra"])
        finally:
            safelog.shutdown()

        _assert_no_canary(sink.lines)
        assert len(sink.lines) == len(calls)
        for c, line in zip(calls, sink.lines, strict=False):
            rec = json.loads(line)
            assert rec["event"] == (c["msg"] if c["constant"] else MARKER_EVENT)
            assert rec["logger"] == (c["name"] if c["named"] else MARKER_LOGGER)
            assert rec["level"] == logging.getLevelName(c["level"]).lower()
            assert rec.get("dropped", 0) == _n_args(c["args"]) + len(c["extra"])


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), 10**40, -(10**40), b"\xff", object()]
)
def test_odd_values_in_declared_fields_become_markers(value: Any) -> None:
    """Values outside a kind (NaN, infinities, huge ints, bytes, objects) become its marker."""
    sink = Sink()
    _configure(sink)
    safelog.get_logger("app.export").info("page_exported", page_count=value, duration_ms=value)
    safelog.shutdown()
    rec = json.loads(sink.lines[0])
    assert rec["page_count"] == "<rejected:int>"
    assert rec["duration_ms"] == "<rejected:float>"


class TestCodeTheTeamDidNotWrite:
    """Issue 16: code compiled at runtime and models built from data vouch for nothing."""

    @given(actions=st.lists(runtime_compiled_logging(), min_size=1, max_size=3))
    def test_runtime_compiled_logging_calls_leak_nothing(
        self, actions: list[tuple[Any, str]]
    ) -> None:
        """A logging call compiled from customer text emits the marker, never the text."""
        sink = Sink()
        _configure(sink)
        try:
            for action, _token in actions:
                action(safelog.get_logger("app.rules"))
        finally:
            safelog.shutdown()
        _assert_no_canary(sink.lines)
        assert len(sink.lines) == len(actions)
        for line in sink.lines:
            rec = json.loads(line)
            assert rec["event"] == MARKER_EVENT
            assert rec["function"] is None

    @given(case=runtime_pydantic_errors())
    def test_runtime_pydantic_models_leak_no_headers(
        self, case: tuple[BaseException, str]
    ) -> None:
        """A runtime model's field names and aliases from data never reach the sink."""
        exc, _token = case
        sink = Sink()
        _configure(sink)
        try:
            safelog.get_logger("app.export").error("export_failed", exc_info=exc)
        finally:
            safelog.shutdown()
        _assert_no_canary(sink.lines)
        (line,) = sink.lines
        validation = json.loads(line)["error"]["validation"]
        assert validation["title"] == "SheetRow"
        assert all(e["loc"] == ["<not-a-field>"] for e in validation["errors"])
