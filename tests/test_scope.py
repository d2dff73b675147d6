"""Scopes: debug buffering flushed on error, and sampling whole scopes in or out."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading

from typing import Any

import pytest

import safelog

from conftest import ConsoleCapture
from safelog import _config, _scope


CANARY = "CANARY-91c4-customer-comment-body"
FIELDS = {
    "request_no": safelog.Int(min=0),
    "step": safelog.Int(min=0),
    "pages": safelog.Int(metric="Count"),
}


def _configure(console: ConsoleCapture, **kw: Any) -> Any:
    kw.setdefault("fields", FIELDS)
    kw.setdefault("buffer_level", "DEBUG")
    kw.setdefault("metrics_namespace", "N")
    safelog.configure(service="svc", console=console.stream, **kw)
    return safelog.get_logger(__name__)


def _fail_in_scope(log: Any, exc: BaseException) -> None:
    with safelog.buffered():
        log.debug("step.one")
        raise exc


class TestBuffering:
    def test_an_error_flushes_the_scopes_debug_records_in_order_first(
        self, console: ConsoleCapture
    ) -> None:
        """The held DEBUG records come out oldest first, marked, before the error record."""
        log = _configure(console)
        with safelog.buffered():
            log.debug("step.one", step=1)
            log.info("visible.now")
            log.debug("step.two", step=2)
            assert [r["event"] for r in console.records()] == ["visible.now"]
            log.error("failed")
        records = console.records()
        assert [r["event"] for r in records] == ["visible.now", "step.one", "step.two", "failed"]
        assert [r.get("buffered") for r in records] == [None, True, True, None]
        assert [r["level"] for r in records[1:3]] == ["debug", "debug"]
        stats = safelog.stats()
        assert (stats["buffer_held"], stats["buffer_flushed"]) == (2, 2)

    def test_a_scope_without_error_emits_none_and_counts_them(
        self, console: ConsoleCapture
    ) -> None:
        """Held records of a scope that ends cleanly are discarded, and counted."""
        log = _configure(console)
        with safelog.buffered():
            log.debug("step.one")
            log.debug("step.two")
            log.warning("slow")
        assert [r["event"] for r in console.records()] == ["slow"]
        assert safelog.stats()["buffer_discarded"] == 2
        assert safelog.stats()["buffer_flushed"] == 0

    def test_an_uncaught_exception_flushes_the_scope(self, console: ConsoleCapture) -> None:
        """A scope left by an exception emits what it held."""
        log = _configure(console)
        with pytest.raises(RuntimeError):
            _fail_in_scope(log, RuntimeError(CANARY))
        (record,) = console.records()
        assert record["event"] == "step.one"
        assert record["buffered"] is True
        assert CANARY not in console.text

    def test_cancellation_is_not_an_error(self, console: ConsoleCapture) -> None:
        """A scope ended by cancellation or exit (not an Exception) discards what it held."""
        log = _configure(console)
        with pytest.raises(KeyboardInterrupt):
            _fail_in_scope(log, KeyboardInterrupt())
        assert console.records() == []
        assert safelog.stats()["buffer_discarded"] == 1

    def test_records_after_a_flush_are_held_again(self, console: ConsoleCapture) -> None:
        """After an error the scope keeps buffering; a second error flushes only the new ones."""
        log = _configure(console)
        with safelog.buffered():
            log.debug("step.one")
            log.error("first")
            log.debug("step.two")
            log.error("second")
            log.debug("step.three")
        assert [r["event"] for r in console.records()] == [
            "step.one",
            "first",
            "step.two",
            "second",
        ]

    def test_info_level_buffers_info_too_but_never_warnings(self, console: ConsoleCapture) -> None:
        """buffer_level="INFO" holds DEBUG and INFO; WARNING goes out at once."""
        log = _configure(console, buffer_level="INFO")
        with safelog.buffered():
            log.debug("d")
            log.info("i")
            log.warning("w")
        assert [r["event"] for r in console.records()] == ["w"]

    def test_debug_below_the_level_is_buffered_in_scope_and_dropped_outside(
        self, console: ConsoleCapture
    ) -> None:
        """With level INFO and buffer_level DEBUG, DEBUG exists only in scopes with an error."""
        log = _configure(console, level="INFO")
        log.debug("outside")
        with safelog.buffered():
            log.debug("inside")
            log.error("failed")
        assert [r["event"] for r in console.records()] == ["inside", "failed"]
        assert "buffer_dropped" in safelog.stats()

    def test_stdlib_records_in_a_scope_are_buffered(self, console: ConsoleCapture) -> None:
        """Records from stdlib loggers that reach the chain are held like any other."""
        _configure(console, level="DEBUG")
        std = logging.getLogger("tests.scope")
        with safelog.buffered():
            std.debug("stdlib.debug")
            assert console.records() == []
            std.error("stdlib.error")
        assert [r["event"] for r in console.records()] == ["stdlib.debug", "stdlib.error"]

    def test_outside_any_scope_nothing_is_held(self, console: ConsoleCapture) -> None:
        """Without a scope, records go out as usual."""
        log = _configure(console, level="DEBUG")
        log.debug("d")
        assert [r["event"] for r in console.records()] == ["d"]

    def test_nested_scopes_join_the_outer_one(self, console: ConsoleCapture) -> None:
        """An inner buffered() shares the outer buffer; the outermost scope decides."""
        log = _configure(console)
        with safelog.buffered():
            log.debug("outer")
            with safelog.buffered():
                log.debug("inner")
            assert console.records() == []
            log.error("failed")
        assert [r["event"] for r in console.records()] == ["outer", "inner", "failed"]

    def test_metric_records_are_never_held(self, console: ConsoleCapture) -> None:
        """log.metric() and records carrying metrics go out at once, even in a scope."""
        log = _configure(console)
        with safelog.buffered():
            log.metric("m.done", pages=1)
            log.debug("d.done", pages=2)
        records = console.records()
        assert [r["event"] for r in records] == ["m.done", "d.done"]
        assert all("buffered" not in r for r in records)

    def test_an_error_that_carries_metrics_still_flushes(self, console: ConsoleCapture) -> None:
        """An error record with a metric field is both EMF and the scope's error."""
        log = _configure(console)
        with safelog.buffered():
            log.debug("step.one")
            log.error("failed", pages=3)
        records = console.records()
        assert [r["event"] for r in records] == ["step.one", "failed"]
        assert "_aws" in records[1]

    def test_the_buffer_holds_sanitized_lines_never_arguments(
        self, console: ConsoleCapture
    ) -> None:
        """What a scope holds is finished JSON lines, already through the policy."""

        class Note:
            def __str__(self) -> str:
                return CANARY

        log = _configure(console)
        with safelog.buffered():
            log.debug("step.one", note=Note(), step=1, **{CANARY: CANARY})
            scope = _scope.current_scope()
            assert scope is not None
            held = [line for line, _ in scope.lines]
            assert all(type(line) is str for line in held)
            assert CANARY not in "".join(held)
            assert json.loads(held[0])["dropped"] == 2
            log.error("failed")
        assert CANARY not in console.text

    def test_buffered_is_a_no_op_with_the_features_off(self, console: ConsoleCapture) -> None:
        """Without buffer_level or sampling_rate the chain has no router and nothing is held."""
        safelog.configure(service="svc", console=console.stream, level="DEBUG")
        stages = _config.current_state().chain.processors
        assert not any(isinstance(p, _scope.ScopeRouter) for p in stages)
        with safelog.buffered():
            safelog.get_logger(__name__).debug("d")
        assert [r["event"] for r in console.records()] == ["d"]
        assert "buffer_held" not in safelog.stats()


class TestBound:
    def test_the_record_bound_drops_oldest_first_and_counts(self, console: ConsoleCapture) -> None:
        """With room for 5 records, 8 held keep the last 5; 3 drops are counted."""
        log = _configure(console, buffer_max_records=5)
        with safelog.buffered():
            for i in range(8):
                log.debug("step", step=i)
            log.error("failed")
        records = console.records()
        assert [r.get("step") for r in records] == [3, 4, 5, 6, 7, None]
        assert safelog.stats()["buffer_dropped"] == 3

    def test_the_byte_bound_holds(self, console: ConsoleCapture) -> None:
        """The held lines never exceed buffer_max_bytes; a line larger than it is dropped."""
        log = _configure(console, buffer_max_bytes=1000)
        with safelog.buffered():
            scope = _scope.current_scope()
            assert scope is not None
            for i in range(40):
                log.debug("step", step=i)
                assert scope.bytes <= 1000
                assert scope.bytes == sum(len(line) for line, _ in scope.lines)
            held = len(scope.lines)
            log.error("failed")
        assert 0 < held < 40
        assert safelog.stats()["buffer_dropped"] == 40 - held
        assert sum(len(line) for line in console.text.splitlines()[:-1]) <= 1000

    def test_a_line_larger_than_the_whole_buffer_is_dropped_and_counted(
        self, console: ConsoleCapture
    ) -> None:
        """A record that can never fit is counted, and the others stay."""
        log = _configure(console, buffer_max_bytes=100)
        with safelog.buffered():
            log.debug("step", step=1)
            log.error("failed")
        assert [r["event"] for r in console.records()] == ["failed"]
        assert safelog.stats()["buffer_dropped"] == 1


class TestIsolation:
    def test_200_concurrent_asyncio_scopes_never_mix(self, console: ConsoleCapture) -> None:
        """Each request's error flushes its own DEBUG records only, whatever the interleaving."""
        log = _configure(console)

        async def request(n: int) -> None:
            with safelog.buffered():
                for step in range(3):
                    log.debug("step", request_no=n, step=step)
                    await asyncio.sleep(0)
                if n % 3 == 0:
                    log.error("failed", request_no=n)

        async def main() -> None:
            await asyncio.gather(*(request(n) for n in range(200)))

        asyncio.run(main())
        records = console.records()
        failed = {n for n in range(200) if n % 3 == 0}
        assert {r["request_no"] for r in records} == failed
        for n in failed:
            mine = [r for r in records if r["request_no"] == n]
            assert [(r["event"], r.get("step")) for r in mine] == [
                ("step", 0),
                ("step", 1),
                ("step", 2),
                ("failed", None),
            ]
        # Each error comes right after its own three held records.
        for i, r in enumerate(records):
            if r["event"] == "failed":
                assert [x["request_no"] for x in records[i - 3 : i]] == [r["request_no"]] * 3
        stats = safelog.stats()
        assert stats["buffer_flushed"] == 3 * len(failed)
        assert stats["buffer_discarded"] == 3 * (200 - len(failed))

    def test_threads_never_share_a_scope(self, console: ConsoleCapture) -> None:
        """Scopes opened on different threads are separate buffers."""
        log = _configure(console)
        barrier = threading.Barrier(20)

        def work(n: int) -> None:
            with safelog.buffered():
                log.debug("step", request_no=n)
                barrier.wait(timeout=10)
                if n % 2:
                    log.error("failed", request_no=n)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        records = console.records()
        assert {r["request_no"] for r in records} == {n for n in range(20) if n % 2}
        assert len(records) == 20

    def test_a_worker_thread_of_the_request_shares_its_scope(self, console: ConsoleCapture) -> None:
        """asyncio.to_thread copies the context: the worker logs into the request's scope."""
        log = _configure(console)

        def work() -> None:
            log.debug("in.worker")

        async def main() -> None:
            with safelog.buffered():
                await asyncio.to_thread(work)
                log.error("failed")

        asyncio.run(main())
        assert [r["event"] for r in console.records()] == ["in.worker", "failed"]


class TestSampling:
    def test_a_sampled_out_scope_drops_debug_and_info_and_counts(
        self, console: ConsoleCapture
    ) -> None:
        """Rate 0: DEBUG/INFO in scopes are dropped and counted; warnings and errors stay."""
        log = _configure(console, buffer_level=None, level="DEBUG", sampling_rate=0.0)
        with safelog.buffered():
            log.debug("d")
            log.info("i")
            log.warning("w")
            log.error("e")
        assert [r["event"] for r in console.records()] == ["w", "e"]
        assert safelog.stats()["sampled_out"] == 2

    def test_a_sampled_in_scope_records_the_rate(self, console: ConsoleCapture) -> None:
        """Rate 1: every DEBUG/INFO record is kept and says the rate; errors do not."""
        log = _configure(console, buffer_level=None, level="DEBUG", sampling_rate=1)
        with safelog.buffered():
            log.info("i")
            log.error("e")
        info, error = console.records()
        assert info["sampling_rate"] == 1.0
        assert "sampling_rate" not in error

    def test_whole_scopes_are_sampled_in_or_out_together(self, console: ConsoleCapture) -> None:
        """With rate 0.5 each scope keeps all or none of its records, about half of them."""
        log = _configure(console, buffer_level=None, sampling_rate=0.5)
        random.seed(1234)
        for n in range(200):
            with safelog.buffered():
                for step in range(4):
                    log.info("step", request_no=n, step=step)
        records = console.records()
        kept: dict[int, int] = {}
        for r in records:
            kept[r["request_no"]] = kept.get(r["request_no"], 0) + 1
            assert r["sampling_rate"] == 0.5
        assert set(kept.values()) == {4}
        assert 60 < len(kept) < 140
        assert safelog.stats()["sampled_out"] == 4 * (200 - len(kept))

    def test_records_outside_scopes_are_not_sampled(self, console: ConsoleCapture) -> None:
        """Sampling applies per scope; code outside any scope logs as usual."""
        log = _configure(console, buffer_level=None, sampling_rate=0.0)
        log.info("outside")
        assert [r["event"] for r in console.records()] == ["outside"]

    def test_buffered_records_of_a_sampled_out_scope_still_flush(
        self, console: ConsoleCapture
    ) -> None:
        """The buffer exists for errors, which are never sampled out."""
        log = _configure(console, sampling_rate=0.0)
        with safelog.buffered():
            log.debug("held")
            log.info("sampled.out")
            log.error("failed")
        assert [r["event"] for r in console.records()] == ["held", "failed"]


class TestOptions:
    @pytest.mark.parametrize(
        ("kwargs", "option"),
        [
            ({"buffer_level": "WARNING"}, "buffer_level"),
            ({"buffer_level": 10}, "buffer_level"),
            ({"buffer_max_bytes": 0}, "buffer_max_bytes"),
            ({"buffer_max_bytes": True}, "buffer_max_bytes"),
            ({"buffer_max_records": -1}, "buffer_max_records"),
            ({"sampling_rate": 1.5}, "sampling_rate"),
            ({"sampling_rate": float("nan")}, "sampling_rate"),
            ({"sampling_rate": True}, "sampling_rate"),
        ],
    )
    def test_bad_options_fail_naming_the_option(self, kwargs: Any, option: str) -> None:
        """A wrong buffering or sampling option fails at configure, message starting with it."""
        with pytest.raises(safelog.ConfigurationError) as info:
            safelog.configure(service="svc", console=False, **kwargs)
        assert str(info.value).startswith(f"{option}:")

    def test_environment_variables(
        self, console: ConsoleCapture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SAFELOG_BUFFER_LEVEL, SAFELOG_BUFFER_MAX_RECORDS and SAFELOG_SAMPLING_RATE apply."""
        monkeypatch.setenv("SAFELOG_BUFFER_LEVEL", "debug")
        monkeypatch.setenv("SAFELOG_BUFFER_MAX_RECORDS", "1")
        monkeypatch.setenv("SAFELOG_SAMPLING_RATE", "0")
        safelog.configure(service="svc", console=console.stream)
        log = safelog.get_logger(__name__)
        with safelog.buffered():
            log.debug("a")
            log.debug("b")
            log.info("sampled.out")
            log.error("failed")
        assert [r["event"] for r in console.records()] == ["b", "failed"]

    def test_bad_environment_variable_names_the_option(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A bad SAFELOG_SAMPLING_RATE fails at configure."""
        monkeypatch.setenv("SAFELOG_SAMPLING_RATE", "often")
        with pytest.raises(safelog.ConfigurationError, match=r"^sampling_rate:"):
            safelog.configure(service="svc", console=False)

    def test_pyproject(self, console: ConsoleCapture, tmp_path: Any) -> None:
        """[tool.safelog] buffer_level and buffer_max_records apply."""
        (tmp_path / "pyproject.toml").write_text(
            '[tool.safelog]\nservice = "svc"\nbuffer_level = "INFO"\nbuffer_max_records = 2\n'
        )
        safelog.configure(console=console.stream, pyproject=tmp_path)
        log = safelog.get_logger(__name__)
        with safelog.buffered():
            for event in ("a", "b", "c"):
                log.info(event)
            log.error("failed")
        assert [r["event"] for r in console.records()] == ["b", "c", "failed"]


_SIGNAL_SCRIPT = """
import os, signal, sys, time
import safelog
safelog.configure(
    service="s",
    console=open(os.devnull, "w"),
    buffer_level="DEBUG",
    sampling_rate=0.5,
    fields={"n": safelog.Int(metric="Count")},
    metrics_namespace="N",
)
log = safelog.get_logger(__name__)
ticks = 0
def handler(signum, frame):
    global ticks
    ticks += 1
    log.debug("tick")
    log.metric("m", n=1)
signal.signal(signal.SIGALRM, handler)
signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
end = time.monotonic() + 2
while time.monotonic() < end:
    with safelog.buffered():
        for _ in range(20):
            log.debug("main")
            log.info("info")
            log.metric("m", n=2)
signal.setitimer(signal.ITIMER_REAL, 0)
print("done", ticks)
"""


class TestSignalHandlers:
    def test_a_handler_logging_every_half_millisecond_never_hangs(self, tmp_path: Any) -> None:
        """A SIGALRM handler that logs into buffered scopes and metrics never deadlocks."""
        import subprocess
        import sys

        script = tmp_path / "sig.py"
        script.write_text(_SIGNAL_SCRIPT, encoding="utf-8")
        # Before: a lock of the scope router or of time.strptime (the EMF
        # timestamp) held by the interrupted code hung the process for ever.
        proc = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stdout.startswith("done ")
        assert int(proc.stdout.split()[1]) > 100
