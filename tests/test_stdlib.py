# ruff: noqa: G004, TRY301 -- leaky logging calls are what these tests feed the chain; raise-in-try makes exc_info
"""The stdlib bridge: every `logging` logger goes through the same chain."""

from __future__ import annotations

import io
import json
import logging
import uuid

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

import safelog

from safelog import _config
from safelog.processors import MARKER_EVENT, MARKER_LOGGER
from safelog.stdlib import SafelogHandler, record_to_event_dict
from strategies import qualname_or_name


CANARY = "canary" + uuid.uuid4().hex


class Clever:
    def __str__(self) -> str:
        return CANARY

    def __repr__(self) -> str:
        return CANARY


class HostileArgs(Mapping[str, Any]):
    """A mapping that breaks as soon as anything iterates it."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError(CANARY)

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError(CANARY)

    def __len__(self) -> int:
        return 1


def _configure(console: Any, **options: Any) -> None:
    options.setdefault("level", "DEBUG")
    safelog.configure(
        service="svc", fields={"page_count": safelog.Int()}, console=console.stream, **options
    )


class TestEveryLogger:
    def test_own_logger_goes_through_the_chain(self, console) -> None:
        """The service's own stdlib logger: name, level and literal template pass."""
        _configure(console)
        logging.getLogger(__name__).warning("disk_low")
        (record,) = console.records()
        assert record["logger"] == __name__
        assert record["level"] == "warning"
        assert record["event"] == "disk_low"
        assert record["module"] == __name__
        assert record["service"] == "svc"

    def test_third_party_logger_goes_through_the_chain(self, console) -> None:
        """A library's logger (here urllib3's, by its module name) reaches the chain too."""
        import urllib3.connectionpool

        _configure(console)
        logging.getLogger(urllib3.connectionpool.__name__).debug("third_party_event %s", CANARY)
        (record,) = console.records()
        assert record["logger"] == "urllib3.connectionpool"
        assert record["level"] == "debug"
        assert record["event"] == "third_party_event %s"
        assert CANARY not in console.text

    def test_percent_args_never_pass(self, console) -> None:
        """%-args (tuple and mapping forms) are counted, never interpolated."""
        _configure(console)
        log = logging.getLogger(__name__)
        log.info("user %s uploaded %s", CANARY, Clever())
        log.info("user %(name)s", {"name": CANARY})
        first, second = console.records()
        assert first["event"] == "user %s uploaded %s"
        assert first["dropped"] == 2
        assert second["event"] == "user %(name)s"
        assert second["dropped"] == 1
        assert CANARY not in console.text

    def test_declared_extra_passes_undeclared_is_counted(self, console) -> None:
        """extra= goes through the policy: declared and valid kept, undeclared counted."""
        _configure(console)
        logging.getLogger(__name__).info("with_extra", extra={"page_count": 3, "email": CANARY})
        (record,) = console.records()
        assert record["page_count"] == 3
        assert record["dropped"] == 1
        assert "email" not in record
        assert CANARY not in console.text

    def test_declared_extra_of_wrong_kind_is_marked(self, console) -> None:
        """A declared extra= field that fails its kind becomes the kind's marker."""
        _configure(console)
        logging.getLogger(__name__).info("with_extra", extra={"page_count": CANARY})
        (record,) = console.records()
        assert record["page_count"] == "<rejected:int>"
        assert CANARY not in console.text

    def test_extra_none_is_null(self, console) -> None:
        """None for a declared extra= field is JSON null."""
        _configure(console)
        logging.getLogger(__name__).info("with_extra", extra={"page_count": None})
        (record,) = console.records()
        assert record["page_count"] is None
        assert "dropped" not in record

    def test_extra_cannot_pose_as_reserved_keys(self, console) -> None:
        """extra= named like a built-in key (event, exc_info) is counted, never used."""
        _configure(console)
        logging.getLogger(__name__).info(
            "with_extra", extra={"event": CANARY, "service": CANARY, "positional_args": CANARY}
        )
        (record,) = console.records()
        assert record["event"] == "with_extra"
        assert record["service"] == "svc"
        assert record["dropped"] == 3
        assert CANARY not in console.text

    def test_logger_adapter_extra_goes_through_the_policy(self, console) -> None:
        """A LoggerAdapter merging extra behaves like extra= on the call."""

        class Merging(logging.LoggerAdapter):  # type: ignore[type-arg]
            def process(self, msg: Any, kwargs: Any) -> Any:
                kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
                return msg, kwargs

        _configure(console)
        adapter = Merging(logging.getLogger(__name__), {"page_count": 5, "token": CANARY})
        adapter.info("adapted")
        (record,) = console.records()
        assert record["page_count"] == 5
        assert record["dropped"] == 1
        assert CANARY not in console.text

    def test_non_string_msg_never_passes(self, console) -> None:
        """A msg object is replaced by the marker; its __str__ is never called."""
        _configure(console)
        logging.getLogger(__name__).error(Clever())
        logging.getLogger(__name__).error({"body": CANARY})
        records = console.records()
        assert [r["event"] for r in records] == [MARKER_EVENT, MARKER_EVENT]
        assert CANARY not in console.text

    def test_runtime_built_template_is_marked(self, console) -> None:
        """A template built at runtime (f-string) is replaced by the marker with the call site."""
        _configure(console)
        logging.getLogger(__name__).warning(f"user {CANARY} failed")
        (record,) = console.records()
        assert record["event"] == MARKER_EVENT
        assert record["function"] == qualname_or_name(
            "TestEveryLogger.test_runtime_built_template_is_marked"
        )
        assert isinstance(record["line"], int)
        assert CANARY not in console.text

    def test_logger_name_built_at_runtime_is_marked(self, console) -> None:
        """A logger name built from data is replaced by the marker."""
        _configure(console)
        logging.getLogger(f"tenant.{CANARY}").warning("tenant_event")
        (record,) = console.records()
        assert record["logger"] == MARKER_LOGGER
        assert record["event"] == "tenant_event"
        assert CANARY not in console.text

    def test_literal_logger_name_passes(self, console) -> None:
        """A logger name written as a literal in the calling code passes."""
        _configure(console)
        logging.getLogger("payments.worker").info("literal_logger")
        assert console.records()[0]["logger"] == "payments.worker"

    def test_exception_is_type_only(self, console) -> None:
        """logger.exception() contributes the type, never the message."""
        _configure(console)
        try:
            raise KeyError(CANARY)
        except KeyError:
            logging.getLogger(__name__).exception("lookup_failed")
        (record,) = console.records()
        assert record["level"] == "error"
        assert record["error"]["type"] == "KeyError"
        assert CANARY not in console.text

    def test_level_filtering_follows_configure(self, console) -> None:
        """Records below the configured level are not written."""
        _configure(console, level="WARNING")
        logging.getLogger(__name__).info("hidden")
        logging.getLogger(__name__).error("shown")
        assert [r["event"] for r in console.records()] == ["shown"]

    def test_propagate_false_logger_reaches_the_chain(self, console) -> None:
        """A non-propagating logger without handlers falls to lastResort, which is safelog."""
        _configure(console)
        lonely = logging.getLogger("lonely.component")
        lonely.propagate = False
        try:
            lonely.warning("lonely_event %s", CANARY)
        finally:
            lonely.propagate = True
        (record,) = console.records()
        assert record["event"] == "lonely_event %s"
        assert CANARY not in console.text

    def test_record_built_from_a_dict_cannot_fill_the_call_site(self, console) -> None:
        """A record made from data (makeLogRecord) cannot put that data in module/function."""
        _configure(console)
        forged = logging.makeLogRecord(
            {
                "name": "payments.worker",
                "msg": "forged_record",
                "levelno": logging.ERROR,
                "levelname": "ERROR",
                "pathname": f"/home/{CANARY}/upload.py",
                "module": f"m{CANARY}",
                "funcName": f"f{CANARY}",
                "lineno": 7,
            }
        )
        logging.getLogger("payments.worker").handle(forged)
        (record,) = console.records()
        assert record["level"] == "error"
        assert CANARY not in console.text


class TestRecordToEventDict:
    def test_only_the_template_extras_and_a_count_are_taken(self) -> None:
        """The event dict holds the raw template, extras for the policy, and args for counting."""
        record = logging.LogRecord("n", logging.INFO, __file__, 1, "t %s", (CANARY,), None)
        record.custom = CANARY
        record.service = CANARY
        event_dict = record_to_event_dict(record)
        assert event_dict["event"] == "t %s"
        assert len(event_dict["positional_args"]) == 2
        assert set(event_dict) == {"event", "positional_args", "custom"}


class TestHandler:
    def test_handle_error_prints_nothing(self, console, capsys: pytest.CaptureFixture[str]) -> None:
        """handleError counts the failure and prints nothing to stderr."""
        _configure(console)
        handler = _config.current_state().handler
        assert handler is not None
        record = logging.LogRecord("n", logging.INFO, __file__, 1, "t %s", (CANARY,), None)
        handler.handleError(record)
        captured = capsys.readouterr()
        assert captured.err == ""
        assert captured.out == ""
        assert handler.errors == 1

    def test_a_failing_record_still_yields_a_marker_record(
        self, console, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Args that explode when counted: no exception, nothing on stderr, a marked record."""
        _configure(console)
        logging.getLogger(__name__).warning("hostile %(x)s", HostileArgs())
        (record,) = console.records()
        assert record["event"] == "<safelog-internal-error>"
        assert record["service"] == "svc"
        assert capsys.readouterr().err == ""
        assert safelog.stats()["stdlib_errors"] == 1
        assert CANARY not in console.text

    def test_last_resort_is_replaced_and_restored(self, console) -> None:
        """configure() makes lastResort safelog's handler; shutdown() restores it."""
        before = logging.lastResort
        _configure(console)
        assert isinstance(logging.lastResort, SafelogHandler)
        assert logging.getLogger().handlers == [logging.lastResort]
        safelog.shutdown()
        assert logging.lastResort is before

    def test_capture_stdlib_false_leaves_logging_alone(self, console) -> None:
        """With capture_stdlib=False the root logger keeps its handlers."""
        root = logging.getLogger()
        before = list(root.handlers)
        _configure(console, capture_stdlib=False)
        assert root.handlers == before
        assert not any(isinstance(h, SafelogHandler) for h in root.handlers)


class TestForeignHandlers:
    def test_strict_mode_refuses_a_bypassing_handler(self, console) -> None:
        """In strict mode a handler on a non-root logger fails configure(), naming its type only."""
        lg = logging.getLogger(f"tenant_{CANARY}")
        handler = logging.StreamHandler(io.StringIO())
        lg.addHandler(handler)
        try:
            with pytest.raises(safelog.ConfigurationError, match="foreign_handlers") as info:
                _configure(console, foreign_handlers="error")
            message = str(info.value)
            assert "logging.StreamHandler" in message
            assert CANARY not in message
            assert not safelog.is_configured()
        finally:
            lg.removeHandler(handler)

    def test_detach_and_reattach(self, console) -> None:
        """'detach' removes foreign handlers until shutdown(), which puts them back."""
        lg = logging.getLogger("vendor.noisy")
        foreign_stream = io.StringIO()
        handler = logging.StreamHandler(foreign_stream)
        lg.addHandler(handler)
        lg.propagate = False
        try:
            _configure(console, foreign_handlers="detach")
            assert handler not in lg.handlers
            assert lg.propagate is True
            lg.warning("vendor_event %s", CANARY)
            assert foreign_stream.getvalue() == ""
            taken, record = console.records()
            assert taken["event"] == "stdlib_handlers_taken_over"
            assert record["event"] == "vendor_event %s"
            assert CANARY not in console.text
            safelog.shutdown()
            assert handler in lg.handlers
            assert lg.propagate is False
        finally:
            lg.removeHandler(handler)
            lg.propagate = True

    def test_default_takes_over_and_says_so(self, console) -> None:
        """By default foreign handlers are taken over; one record names them (names of code)."""
        # A literal of a loaded module of its package: a name of code.
        named = logging.getLogger("test_stdlib.vendor")
        from_data = logging.getLogger(f"tenant_{CANARY}")
        h1, h2 = logging.StreamHandler(io.StringIO()), logging.StreamHandler(io.StringIO())
        named.addHandler(h1)
        from_data.addHandler(h2)
        try:
            _configure(console)
            assert h1 not in named.handlers
            assert h2 not in from_data.handlers
            (record,) = console.records()
            assert record["event"] == "stdlib_handlers_taken_over"
            assert record["logger"] == "safelog"
            assert record["handlers_taken_over"] == [
                "logging.StreamHandler on <logger>",
                "logging.StreamHandler on test_stdlib.vendor",
            ]
            assert CANARY not in console.text
            safelog.shutdown()
            assert h1 in named.handlers
        finally:
            named.removeHandler(h1)
            from_data.removeHandler(h2)

    def test_nothing_taken_over_no_record(self, console) -> None:
        """With no foreign handlers there is no take-over record."""
        _configure(console)
        assert console.records() == []

    def test_null_handlers_are_not_foreign(self, console) -> None:
        """Libraries' NullHandlers do not bypass anything and are accepted."""
        lg = logging.getLogger("vendor.quiet")
        handler = logging.NullHandler()
        lg.addHandler(handler)
        try:
            _configure(console)
            assert safelog.is_configured()
            assert safelog.self_check() == []
        finally:
            lg.removeHandler(handler)

    def test_bad_option_value(self, console) -> None:
        """An unknown foreign_handlers value is a ConfigurationError naming the option."""
        with pytest.raises(safelog.ConfigurationError, match="foreign_handlers"):
            _configure(console, foreign_handlers="ignore")


class TestOutput:
    def test_records_are_one_json_object_per_line(self, console) -> None:
        """Whatever stdlib logs, each written line parses as one JSON object."""
        _configure(console)
        log = logging.getLogger(__name__)
        log.info("line\nbreak %s", "x\n{}")
        log.info(b"bytes msg")
        log.info("%s", "\u2028")
        lines = console.text.splitlines()
        assert len(lines) == 3
        assert all(type(json.loads(line)) is dict for line in lines)
