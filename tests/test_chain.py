# ruff: noqa: PLE1205, PLE1206, G010, TRY301 -- bad logging calls are what these tests feed the chain; raise-in-try makes exc_info
"""The chain and `SafeBoundLogger`: every structlog call goes through the policy."""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid

from typing import Any

import pytest
import structlog

import safelog

from safelog import _config
from safelog._chain import MARKER_INTERNAL, SafeBoundLogger, bound_logger_class


CANARY = "canary" + uuid.uuid4().hex


class Clever:
    def __str__(self) -> str:
        return CANARY

    def __repr__(self) -> str:
        return CANARY

    def __format__(self, spec: str) -> str:
        return CANARY


def _configure(console: Any, level: str = "DEBUG") -> Any:
    safelog.configure(
        service="svc",
        fields={"page_count": safelog.Int(min=0), "status": safelog.Enum("ok", "failed")},
        console=console.stream,
        level=level,
    )
    return safelog.get_logger(__name__)


def _boom(logger: Any, method_name: str, event_dict: dict[str, Any]) -> Any:
    raise RuntimeError(CANARY)


class TestBinding:
    def test_bind_goes_through_the_policy(self, console) -> None:
        """Bound values are cleaned by their kind; undeclared bound keys are dropped."""
        log = _configure(console).bind(page_count=3, email=CANARY)
        log.info("bound")
        (record,) = console.records()
        assert record["page_count"] == 3
        assert record["dropped"] == 1
        assert CANARY not in console.text

    def test_bound_value_of_the_wrong_kind_is_marked(self, console) -> None:
        """A bound value that fails its kind becomes the marker."""
        _configure(console).bind(page_count=CANARY).info("bound")
        assert console.records()[0]["page_count"] == "<rejected:int>"
        assert CANARY not in console.text

    def test_unbind_and_new(self, console) -> None:
        """unbind removes a key; new starts from a clean context."""
        log = _configure(console).bind(page_count=3, status="ok")
        log.unbind("page_count").info("unbound")
        log.new(page_count=7).info("fresh")
        first, second = console.records()
        assert "page_count" not in first
        assert first["status"] == "ok"
        assert second["page_count"] == 7
        assert "status" not in second

    def test_initial_values_of_get_logger_go_through_the_policy(self, console) -> None:
        """get_logger(name, **values) binds values under the same policy."""
        _configure(console)
        safelog.get_logger("named", page_count=2, token=CANARY).info("initial")
        (record,) = console.records()
        assert record["page_count"] == 2
        assert record["dropped"] == 1
        assert record["logger"] == "named"
        assert CANARY not in console.text

    def test_contextvars_go_through_the_policy(self, console) -> None:
        """Values bound with bind_contextvars are cleaned like any other."""
        log = _configure(console)
        structlog.contextvars.bind_contextvars(page_count=5, status=CANARY, user=CANARY)
        log.info("with_context")
        (record,) = console.records()
        assert record["page_count"] == 5
        assert record["status"] == "<rejected:enum>"
        assert record["dropped"] == 1
        assert CANARY not in console.text

    def test_call_arguments_cannot_override_built_in_keys(self, console) -> None:
        """Keywords named like built-in keys are dropped; the real values stay."""
        log = _configure(console)
        line = sys._getframe().f_lineno + 1
        log.info(
            "kept",
            service=CANARY,
            level=CANARY,
            timestamp=CANARY,
            logger=CANARY,
            module=CANARY,
            function=CANARY,
            line=CANARY,
            host=CANARY,
            pid=CANARY,
        )
        (record,) = console.records()
        assert record["service"] == "svc"
        assert record["level"] == "info"
        assert record["module"] == __name__
        assert record["line"] == line
        assert record["dropped"] == 9
        assert CANARY not in console.text

    def test_event_keyword_never_raises_into_the_caller(self, console) -> None:
        """A keyword named 'event' (or 'self') does not raise; it is dropped and counted."""
        log = _configure(console)
        log.info("kept", event=CANARY)
        log.info("kept", self=CANARY)
        log.log(logging.INFO, "kept", level=CANARY)
        records = console.records()
        assert [r["event"] for r in records] == ["kept", "kept", "kept"]
        assert [r.get("dropped") for r in records[1:]] == [1, 1]
        assert records[2]["level"] == "info"
        assert CANARY not in console.text

    def test_structlogs_own_get_logger_reaches_the_chain(self, console) -> None:
        """structlog.get_logger() after configure() goes through the same chain."""
        _configure(console)
        structlog.get_logger().info("via_structlog", page_count=1, secret=CANARY)
        (record,) = console.records()
        assert record["event"] == "via_structlog"
        assert record["page_count"] == 1
        assert record["dropped"] == 1
        assert CANARY not in console.text


class TestPositionalArguments:
    def test_positional_args_are_never_interpolated(self, console) -> None:
        """Positional arguments are counted as dropped, and the template stays."""
        _configure(console).info("exported %s for %s", CANARY, Clever())
        (record,) = console.records()
        assert record["event"] == "exported %s for %s"
        assert record["dropped"] == 2
        assert CANARY not in console.text

    def test_bad_percent_args_never_raise(self, console) -> None:
        """Mismatched %-args neither raise nor lose the record."""
        log = _configure(console)
        log.info("count %d", "not a number")
        log.info("two %s %s", 1)
        log.info("none %s")
        assert [r["event"] for r in console.records()] == ["count %d", "two %s %s", "none %s"]


class TestFailures:
    def test_a_raising_processor_still_yields_a_record(
        self, console, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A stage that raises: no exception for the caller, a record with the internal marker."""
        log = _configure(console)
        chain = _config.current_state().chain
        procs = chain.processors
        monkeypatch.setattr(chain, "processors", (procs[0], _boom, *procs[1:]))
        log.error("will_fail", page_count=1)
        (record,) = console.records()
        assert record["event"] == MARKER_INTERNAL
        assert record["level"] == "error"
        assert record["service"] == "svc"
        assert record["safelog_error"] == "RuntimeError"
        assert CANARY not in console.text
        assert safelog.stats()["internal_errors"] == 1

    def test_a_chain_that_does_not_render_yields_the_marker(
        self, console, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """If the last stage returns no line, the record still goes out with the marker."""
        log = _configure(console)
        chain = _config.current_state().chain
        monkeypatch.setattr(chain, "processors", chain.processors[:-1])
        log.info("unrendered", page_count=CANARY)
        (record,) = console.records()
        assert record["event"] == MARKER_INTERNAL
        assert CANARY not in console.text

    def test_taken_from_the_last_stage_dispatches_nothing(
        self, console, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A last stage that returns TAKEN has accounted for the record: nothing is emitted."""
        from safelog._chain import TAKEN

        log = _configure(console)
        chain = _config.current_state().chain
        monkeypatch.setattr(chain, "processors", (*chain.processors[:-1], lambda *_: TAKEN))
        log.info("taken")
        assert console.text == ""
        assert safelog.stats()["internal_errors"] == 0

    def test_taken_from_a_middle_stage_is_an_internal_error(
        self, console, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Only the last stage may take a record; anywhere else the record still goes out."""
        from safelog._chain import TAKEN

        log = _configure(console)
        chain = _config.current_state().chain
        procs = chain.processors
        monkeypatch.setattr(chain, "processors", (procs[0], lambda *_: TAKEN, *procs[1:]))
        log.info("taken")
        (record,) = console.records()
        assert record["event"] == MARKER_INTERNAL


class TestMetricMethod:
    def test_metric_is_not_filtered_by_the_level(self, console) -> None:
        """log.metric() goes out at any configured level, with level "metric"."""
        log = _configure(console, level="CRITICAL")
        log.info("dropped")
        log.metric("counted", page_count=1)
        (record,) = console.records()
        assert (record["event"], record["level"], record["page_count"]) == ("counted", "metric", 1)

    def test_metric_before_configure_follows_the_configuration(self, console) -> None:
        """A logger bound before configure() has metric() and reaches the chain."""
        early = safelog.get_logger("early").bind(page_count=2)
        _configure(console, level="ERROR")
        early.metric("counted")
        (record,) = console.records()
        assert (record["level"], record["page_count"]) == ("metric", 2)


class TestLevels:
    def test_disabled_levels_do_nothing(self, console, monkeypatch: pytest.MonkeyPatch) -> None:
        """Below the configured level nothing runs and nothing is written."""
        log = _configure(console, level="WARNING")
        chain = _config.current_state().chain
        monkeypatch.setattr(chain, "processors", (_boom,))
        log.debug("hidden", Clever())
        log.info("hidden", page_count=1)
        log.log(logging.INFO, "hidden")
        assert console.text == ""
        assert chain.internal_errors == 0
        log.warning("shown")
        assert console.records()[0]["event"] == MARKER_INTERNAL

    def test_enabled_levels_and_names(self, console) -> None:
        """Each level method writes a record with its level name."""
        log = _configure(console)
        log.debug("d")
        log.info("i")
        log.warning("w")
        log.warn("w2")
        log.error("e")
        log.critical("c")
        log.fatal("f")
        log.msg("m")
        levels = [r["level"] for r in console.records()]
        assert levels == [
            "debug",
            "info",
            "warning",
            "warning",
            "error",
            "critical",
            "critical",
            "info",
        ]

    def test_is_enabled_for(self, console) -> None:
        """is_enabled_for and get_effective_level reflect the configured level."""
        log = _configure(console, level="WARNING")
        assert not log.is_enabled_for(logging.INFO)
        assert log.is_enabled_for(logging.ERROR)
        assert log.get_effective_level() == logging.WARNING

    def test_log_with_a_level_number(self, console) -> None:
        """log(level, event) maps numbers to level names and filters below the minimum."""
        log = _configure(console, level="INFO")
        log.log(logging.DEBUG, "below")
        log.log(logging.WARNING, "warned", page_count=1)
        log.log(35, "between")
        log.log(logging.CRITICAL + 10, "above")
        records = console.records()
        assert [r["level"] for r in records] == ["warning", "error", "critical"]
        assert records[0]["page_count"] == 1

    def test_log_with_a_level_name_or_nonsense_still_emits(self, console) -> None:
        """log() takes level names too; an unknown level is logged at info, never lost."""
        log = _configure(console, level="INFO")
        log.log("warning", "named")
        log.log(object(), "nonsense")
        log.log("DEBUG", "below")
        assert [(r["level"], r["event"]) for r in console.records()] == [
            ("warning", "named"),
            ("info", "nonsense"),
        ]

    def test_bound_logger_classes_are_shared_per_level(self) -> None:
        """One class per minimum level."""
        assert bound_logger_class(logging.INFO) is bound_logger_class(logging.INFO)
        assert issubclass(bound_logger_class(logging.DEBUG), SafeBoundLogger)


class TestExceptionMethod:
    def test_exception_adds_the_type_only(self, console) -> None:
        """exception() logs at error level with the exception's type, never its message."""
        log = _configure(console)
        try:
            raise ValueError(f"bad input {CANARY}")
        except ValueError:
            log.exception("parse_failed", page_count=1)
        (record,) = console.records()
        assert record["level"] == "error"
        assert record["event"] == "parse_failed"
        assert record["error"]["type"] == "ValueError"
        assert record["page_count"] == 1
        assert CANARY not in console.text

    def test_exception_outside_an_except_block(self, console) -> None:
        """exception() with no active exception still logs, with no error key."""
        _configure(console).exception("no_exception")
        (record,) = console.records()
        assert record["event"] == "no_exception"
        assert "error" not in record


class TestAsync:
    def test_async_methods_go_through_the_chain(self, console) -> None:
        """ainfo/aexception/alog write sanitized records with the call site."""
        log = _configure(console)

        async def main() -> int:
            line = sys._getframe().f_lineno + 1
            await log.ainfo("async_event", page_count=4, secret=CANARY)
            await log.awarning(f"async_{CANARY}")
            await log.alog(logging.ERROR, "async_logged")
            try:
                raise KeyError(CANARY)
            except KeyError:
                await log.aexception("async_failed")
            return line

        line = asyncio.run(main())
        # asyncio's own DEBUG records ("Using selector") arrive too.
        mine = [r for r in console.records() if r["logger"] == __name__]
        first, second, third, fourth = mine
        assert first["event"] == "async_event"
        assert first["page_count"] == 4
        assert first["line"] == line
        assert first["function"].endswith("main")
        assert second["event"] == "<non-constant-event>"
        assert third["level"] == "error"
        assert fourth["error"]["type"] == "KeyError"
        assert CANARY not in console.text

    def test_disabled_async_methods_do_nothing(self, console) -> None:
        """Async methods below the level write nothing."""
        log = _configure(console, level="ERROR")
        asyncio.run(log.ainfo("hidden"))
        assert console.text == ""


class TestRedTeamRegressions:
    """Findings of the security review, each pinned by a test."""

    @pytest.mark.parametrize("key", ["_safelog_frame", "exc_info", "stack_info", "event"])
    def test_reserved_keys_bound_through_contextvars_never_pass(self, console, key) -> None:
        """A contextvar named like an internal key is not emitted, on the stdlib path either."""
        _configure(console)
        structlog.contextvars.bind_contextvars(**{key: {"note": CANARY}})
        logging.getLogger(__name__).warning("something_happened")
        safelog.get_logger(__name__).bind(**{key: CANARY}).info("bound_too")
        safelog.shutdown()
        assert [r["event"] for r in console.records()][:1] == ["something_happened"]
        assert CANARY not in console.text

    def test_logger_bound_before_configure_follows_it(self, console) -> None:
        """safelog.get_logger().bind() at import time uses the configuration made later."""
        early = safelog.get_logger("app.worker").bind(status="ok")
        _configure(console, level="DEBUG")
        early.debug("job_debug", page_count=2)
        (record,) = console.records()
        assert record["service"] == "svc"
        assert record["status"] == "ok"
        assert record["page_count"] == 2

    def test_hostile_context_key_never_raises(self, console) -> None:
        """A bound key whose __eq__ raises yields a marker record, not an exception."""
        armed = False

        class Raising(str):
            __slots__ = ()

            def __eq__(self, other: object) -> bool:
                # Armed after bind(): CPython's own keyword matching must pass.
                if armed:
                    raise RuntimeError(CANARY)
                return str.__eq__(self, other)

            def __hash__(self) -> int:
                return hash("page_count")

        log = _configure(console).bind(**{Raising("zz"): 1})
        armed = True
        log.info("evt", page_count=2)
        log.exception("evt", page_count=2)  # noqa: LOG004 -- no active exception on purpose
        records = console.records()
        assert [r["event"] for r in records] == [MARKER_INTERNAL, MARKER_INTERNAL]
        assert CANARY not in console.text

    def test_structlog_factory_replaced_after_configure_still_reaches_the_chain(
        self, console
    ) -> None:
        """Reconfiguring structlog's factory later does not make log calls raise or bypass."""
        _configure(console)
        structlog.configure(logger_factory=structlog.stdlib.LoggerFactory())
        structlog.get_logger("app").info("evt", email=CANARY)
        (record,) = console.records()
        assert record["event"] == "evt"
        assert record["dropped"] == 1
        assert CANARY not in console.text

    def test_retired_chain_hands_over_to_the_current_one(self, console) -> None:
        """A logger bound under one configuration logs to the next after shutdown/configure."""
        first = _config.current_state  # noqa: F841 -- documents what is being replaced
        _configure(console)
        bound = structlog.get_logger("app").bind(page_count=1)
        safelog.shutdown()
        _configure(console)
        bound.info("after_reconfigure")
        assert [r["event"] for r in console.records()] == ["after_reconfigure"]

    def test_exec_code_with_names_from_data_shows_no_names(self, console) -> None:
        """exec'd code with a data-built __name__ or function name shows neither."""
        log = _configure(console)
        exec("log.info('evt')", {"log": log, "__name__": f"notes {CANARY}"})
        src = f"def f_{CANARY}():\n    log.info('evt')\nf_{CANARY}()\n"
        exec(src, {"log": log, "__name__": "plugins"})
        records = console.records()
        assert len(records) == 2
        assert CANARY not in console.text
        assert records[1]["module"] is None


class TestControlFlowExceptions:
    def _hostile_logger(self, console, exc: BaseException) -> Any:
        armed = False

        class Raising(str):
            __slots__ = ()

            def __eq__(self, other: object) -> bool:
                if armed:
                    raise exc
                return str.__eq__(self, other)

            def __hash__(self) -> int:
                return hash("page_count")

        log = _configure(console).bind(**{Raising("zz"): 1})
        armed = True
        return log

    def test_custom_base_exception_from_a_hostile_key_never_reaches_the_caller(
        self, console
    ) -> None:
        """A BaseException subclass raised inside the chain becomes a marker record."""

        class Boom(BaseException):
            pass

        log = self._hostile_logger(console, Boom(CANARY))
        log.info("evt", page_count=2)
        (record,) = console.records()
        assert record["event"] == MARKER_INTERNAL
        assert CANARY not in console.text

    def test_keyboard_interrupt_still_interrupts(self, console) -> None:
        """Ctrl-C during a log call is the interpreter's control flow: it passes through."""
        log = self._hostile_logger(console, KeyboardInterrupt())
        with pytest.raises(KeyboardInterrupt):
            log.info("evt", page_count=2)
