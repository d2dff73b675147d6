"""Crash hooks, asyncio and warnings: errors that reach a log without a log call."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import warnings

from pathlib import Path
from typing import Any

import pytest

import safelog

from safelog import _hooks
from safelog.processors import MARKER_EVENT
from safelog.stdlib import SafelogHandler
from strategies import (
    LOADED_TYPES,
    Sinks,
    loaded_exception,
    new_canary,
    qualname_or_name,
    types_in,
)


HERE = Path(__file__).resolve()
FRAME_KEYS = {"module", "function", "line"}


def assert_error(rec: dict[str, Any], type_name: str) -> None:
    """type, frames and fingerprint are present."""
    __tracebackhide__ = True
    error = rec["error"]
    assert error["type"] == type_name
    assert len(error["fingerprint"]) == 16
    assert error["frames"]
    assert all(set(f) == FRAME_KEYS or set(f) == {"omitted"} for f in error["frames"])


def hook_state() -> tuple[Any, ...]:
    return (sys.excepthook, threading.excepthook, sys.unraisablehook, warnings.showwarning)


class TestConfigureOption:
    def test_installed_and_restored(self, console: Any) -> None:
        """configure() installs every hook; shutdown() puts the previous ones back."""
        before = hook_state()
        safelog.configure(service="t", console=console.stream)
        assert hook_state() == (
            _hooks.excepthook,
            _hooks.threading_excepthook,
            _hooks.unraisablehook,
            _hooks.showwarning,
        )
        safelog.shutdown()
        assert hook_state() == before

    def test_off(self, console: Any) -> None:
        """hooks=False installs none."""
        before = hook_state()
        safelog.configure(service="t", console=console.stream, hooks=False)
        assert hook_state() == before

    def test_some(self, console: Any) -> None:
        """A list of names installs only those."""
        before = hook_state()
        safelog.configure(service="t", console=console.stream, hooks=["excepthook", "warnings"])
        now = hook_state()
        assert now[0] is _hooks.excepthook
        assert now[3] is _hooks.showwarning
        assert now[1:3] == before[1:3]

    @pytest.mark.parametrize("bad", ["excepthook", 1, ["excepthook", "CANARY-name"], [None]])
    def test_bad_option(self, bad: object, console: Any) -> None:
        """A wrong hooks= fails at configure, naming the option, never the value."""
        before = hook_state()
        with pytest.raises(safelog.ConfigurationError, match=r"^hooks:") as info:
            safelog.configure(service="t", console=console.stream, hooks=bad)  # type: ignore[arg-type]
        assert "CANARY" not in str(info.value)
        assert hook_state() == before
        assert not safelog.is_configured()

    def test_later_replacement_is_kept(self, console: Any) -> None:
        """A hook someone installed after configure() is not clobbered at shutdown."""

        def theirs(*args: Any) -> None:
            return None

        before = sys.excepthook
        safelog.configure(service="t", console=console.stream)
        sys.excepthook = theirs
        try:
            safelog.shutdown()
            assert sys.excepthook is theirs
        finally:
            sys.excepthook = before


class TestExceptHook:
    def test_in_process(self, sinks: Sinks) -> None:
        """sys.excepthook: a critical record with the tree, no text."""
        canary = new_canary()
        exc = loaded_exception(canary)
        sys.excepthook(type(exc), exc, exc.__traceback__)
        sinks.assert_clean(canary)
        (rec,) = sinks.records()
        assert rec["event"] == "uncaught_exception"
        assert rec["level"] == "critical"
        assert_error(rec, "KeyError")
        assert types_in(rec["error"]) == set(LOADED_TYPES)

    def test_real_crash_in_subprocess(self) -> None:
        """A process that dies of an uncaught exception prints one JSON record, no text."""
        canary = new_canary()
        script = textwrap.dedent(
            f"""
            import safelog
            from strategies import loaded_exception
            safelog.configure(service="crash", console=True)
            raise loaded_exception({canary!r})
            """
        )
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SAFELOG_")},
            "PYTHONPATH": os.pathsep.join([str(HERE.parent.parent / "src"), str(HERE.parent)]),
        }
        proc = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 1
        assert canary not in proc.stderr + proc.stdout
        assert canary[6:] not in proc.stderr + proc.stdout
        assert "Traceback" not in proc.stderr
        (line,) = proc.stderr.splitlines()
        rec = json.loads(line)
        assert rec["event"] == "uncaught_exception"
        assert_error(rec, "KeyError")


class TestThreadingHook:
    def test_real_thread(self, sinks: Sinks) -> None:
        """An exception escaping a thread: an error record, no text."""
        canary = new_canary()

        def work() -> None:
            local_secret = canary
            raise loaded_exception(local_secret)

        t = threading.Thread(target=work)
        t.start()
        t.join()
        sinks.assert_clean(canary)
        (rec,) = sinks.records()
        assert rec["event"] == "uncaught_thread_exception"
        assert rec["level"] == "error"
        assert_error(rec, "KeyError")
        assert any(f.get("function", "").endswith("work") for f in rec["error"]["frames"])

    def test_system_exit_is_quiet(self, sinks: Sinks) -> None:
        """SystemExit ends a thread without a record, as threading's default does."""
        t = threading.Thread(target=sys.exit, args=(3,))
        t.start()
        t.join()
        assert sinks.records() == []


class TestUnraisableHook:
    def test_del_raising(self, sinks: Sinks) -> None:
        """An exception in __del__: a record, never the object's repr or the text."""
        canary = new_canary()

        class Holder:
            def __repr__(self) -> str:
                return canary

            def __del__(self) -> None:
                raise loaded_exception(canary)

        h = Holder()
        del h
        gc.collect()
        sinks.assert_clean(canary)
        (rec,) = sinks.records()
        assert rec["event"] == "unraisable_exception"
        assert_error(rec, "KeyError")


class TestAsyncio:
    @staticmethod
    async def failing(canary: str) -> None:
        local_secret = canary
        raise loaded_exception(local_secret)

    def never_retrieved(self, loop: asyncio.AbstractEventLoop, canary: str) -> None:
        task = loop.create_task(self.failing(canary), name=canary)
        loop.run_until_complete(asyncio.sleep(0.01))
        assert task.done()
        del task
        gc.collect()

    def test_task_exception_never_retrieved(self, sinks: Sinks) -> None:
        """'Task exception was never retrieved': a constant event and the tree, no repr(task)."""
        canary = new_canary()
        loop = asyncio.new_event_loop()
        try:
            safelog.install_asyncio_handler(loop)
            self.never_retrieved(loop, canary)
        finally:
            loop.close()
        sinks.assert_clean(canary)
        (rec,) = sinks.records()
        assert rec["event"] == "exception_never_retrieved"
        assert rec["logger"] == "asyncio"
        assert_error(rec, "KeyError")
        assert types_in(rec["error"]) == set(LOADED_TYPES)

    def test_call_exception_handler(self, sinks: Sinks) -> None:
        """A context built from data: only a constant event and the error record leave."""
        canary = new_canary()

        class Leaky:
            def __repr__(self) -> str:
                return canary

        loop = asyncio.new_event_loop()
        try:
            safelog.install_asyncio_handler(loop)
            loop.call_exception_handler(
                {
                    "message": canary,
                    "exception": loaded_exception(canary),
                    "task": Leaky(),
                    canary: 1,
                }
            )
            loop.call_exception_handler(
                {"message": "Fatal error on transport", "transport": Leaky()}
            )
        finally:
            loop.close()
        sinks.assert_clean(canary)
        a, b = sinks.records()
        assert a["event"] == "asyncio_exception"
        assert_error(a, "KeyError")
        assert b["event"] == "Fatal error on transport"
        assert "error" not in b

    def test_without_install_the_bridge_is_safe(self, sinks: Sinks) -> None:
        """Without install_asyncio_handler, asyncio's own log line is a marker plus the tree."""
        canary = new_canary()
        loop = asyncio.new_event_loop()
        try:
            self.never_retrieved(loop, canary)
        finally:
            loop.close()
        sinks.assert_clean(canary)
        (rec,) = sinks.records()
        assert rec["event"] == MARKER_EVENT
        assert rec["logger"] == "asyncio"
        assert_error(rec, "KeyError")

    def test_running_loop_and_restore(self, sinks: Sinks) -> None:
        """With no argument the running loop is used; shutdown restores its handler."""

        def previous(loop: Any, context: Any) -> None:
            return None

        loop = asyncio.new_event_loop()
        try:
            loop.set_exception_handler(previous)

            async def main() -> None:
                safelog.install_asyncio_handler()

            loop.run_until_complete(main())
            assert loop.get_exception_handler() is _hooks._asyncio_handler
            safelog.shutdown()
            assert loop.get_exception_handler() is previous
        finally:
            loop.close()


def deprecated_helper() -> None:
    warnings.warn("deprecated_helper is deprecated", DeprecationWarning, stacklevel=2)


class CustomWarning(UserWarning):
    pass


class TestWarnings:
    def test_constant_text(self, sinks: Sinks) -> None:
        """A constant warning text is the event; category and place are metadata."""
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("cache is cold", CustomWarning, stacklevel=1)
        (rec,) = sinks.records()
        assert rec["logger"] == "py.warnings"
        assert rec["level"] == "warning"
        assert rec["event"] == "cache is cold"
        assert rec["error"]["type"] == f"{__name__}.CustomWarning"
        (frame,) = rec["error"]["frames"]
        assert frame["module"] == __name__
        assert frame["function"] == qualname_or_name("TestWarnings.test_constant_text")
        assert len(rec["error"]["fingerprint"]) == 16
        assert str(HERE) not in sinks.everything()

    def test_text_built_from_data(self, sinks: Sinks) -> None:
        """A warning text built at runtime becomes the marker."""
        canary = new_canary()
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn(f"bad row {canary}", UserWarning, stacklevel=1)
            warnings.warn(UserWarning(canary, canary), stacklevel=1)
        sinks.assert_clean(canary)
        a, b = sinks.records()
        assert a["event"] == b["event"] == MARKER_EVENT
        assert a["error"]["type"] == "UserWarning"

    def test_stacklevel_attribution(self, sinks: Sinks) -> None:
        """With stacklevel=2 the text checks against the warn() call, the place is the caller."""
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            deprecated_helper()
        (rec,) = sinks.records()
        assert rec["event"] == "deprecated_helper is deprecated"
        assert rec["function"] == "deprecated_helper"
        (frame,) = rec["error"]["frames"]
        assert frame["function"] == qualname_or_name("TestWarnings.test_stacklevel_attribution")

    def test_level_respected(self, console: Any) -> None:
        """Below the configured level, warnings are not emitted."""
        safelog.configure(service="t", console=console.stream, level="ERROR")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("cache is cold", UserWarning, stacklevel=1)
        assert console.text == ""

    def test_not_installed(self, console: Any, capsys: pytest.CaptureFixture[str]) -> None:
        """hooks= without 'warnings' leaves warnings as Python shows them."""
        safelog.configure(service="t", console=console.stream, hooks=["excepthook"])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.warn("cache is cold", UserWarning, stacklevel=1)
        assert len(caught) == 1
        assert console.text == ""


class TestHandleError:
    def test_prints_nothing(self, sinks: Sinks) -> None:
        """SafelogHandler.handleError counts; it never prints the record or its args."""
        canary = new_canary()
        handler = next(h for h in logging.getLogger().handlers if isinstance(h, SafelogHandler))
        record = logging.LogRecord(__name__, logging.ERROR, __file__, 1, "%s", (canary,), None)
        before = handler.errors
        assert logging.raiseExceptions
        try:
            raise ValueError(canary)  # noqa: TRY301
        except ValueError:
            handler.handleError(record)
        assert handler.errors == before + 1
        sinks.assert_clean(canary)
        assert safelog.stats()["stdlib_errors"] == before + 1

    def test_bad_format_args_never_formatted(self, sinks: Sinks) -> None:
        """A template/args mismatch (which makes logging's handleError print) is silent here."""
        canary = new_canary()
        # pytest's own capture handler (added to the root for each test
        # phase) would format the record and raise: only safelog's stays.
        root = logging.getLogger()
        saved = root.handlers[:]
        root.handlers = [h for h in saved if isinstance(h, SafelogHandler)]
        try:
            logging.getLogger(__name__).error("two %s %s", canary)  # noqa: PLE1206 -- on purpose
        finally:
            root.handlers = saved
        sinks.assert_clean(canary)
        (rec,) = sinks.records()
        assert rec["event"] == "two %s %s"
        assert rec["dropped"] == 1
