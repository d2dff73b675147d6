"""`configure` / `shutdown` / `self_check` / `stats`: the global state."""

from __future__ import annotations

import base64
import io
import json
import logging
import logging.config
import os
import sys
import threading
import uuid

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import structlog

import safelog

from safelog import _chain, _config
from safelog.stdlib import SafelogHandler


CANARY = "canary" + uuid.uuid4().hex
KEY = "config-test-key-0123456789abcdef"
ENCODED_KEYS = ["base64:" + base64.b64encode(KEY.encode()).decode(), "hex:" + KEY.encode().hex()]

PYPROJECT = """
[project]
name = "demo"

[tool.safelog]
service = "from-file"
environment = "staging"
level = "WARNING"

[tool.safelog.fields]
page_count = { kind = "int", min = 0 }
status = { kind = "enum", values = ["ok", "failed"] }
"""


class RecordingSink:
    """A sink that keeps lines and remembers flush/close calls."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.closed_with: list[float | None] = []
        self.metadata: Mapping[str, Any] | None = None

    def write(self, line: str) -> None:
        self.lines.append(line)

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        self.closed_with.append(timeout)

    def stats(self) -> dict[str, int]:
        return {"recording_lines": len(self.lines)}


class RecordingFactory:
    def __init__(self) -> None:
        self.sink = RecordingSink()

    def create_sink(self, metadata: Mapping[str, Any], *, report: Any = None) -> RecordingSink:
        self.sink.metadata = metadata
        return self.sink


def _configure(console: Any, **options: Any) -> None:
    options.setdefault("service", "svc")
    safelog.configure(console=console.stream, **options)


class TestConfigureOnce:
    def test_second_call_is_an_error_that_says_so(self, console) -> None:
        """configure() twice without shutdown() fails and says what to do."""
        _configure(console)
        with pytest.raises(safelog.ConfigurationError, match="already configured") as info:
            _configure(console)
        assert "shutdown" in str(info.value)
        assert safelog.is_configured()

    def test_configure_again_after_shutdown(self, console) -> None:
        """After shutdown() configure() works again, with the new options."""
        _configure(console)
        safelog.shutdown()
        assert not safelog.is_configured()
        _configure(console, service="second")
        safelog.get_logger("t").info("again")
        assert console.records()[-1]["service"] == "second"

    def test_a_failed_configure_leaves_nothing_behind(self, console) -> None:
        """A ConfigurationError leaves safelog unconfigured and logging untouched."""
        root = logging.getLogger()
        before = list(root.handlers)
        with pytest.raises(safelog.ConfigurationError):
            _configure(console, level="LOUD")
        assert not safelog.is_configured()
        assert root.handlers == before

    def test_service_is_required(self, console) -> None:
        """Without service= or SAFELOG_SERVICE configure() fails naming 'service'."""
        with pytest.raises(safelog.ConfigurationError, match="service"):
            safelog.configure(console=console.stream)

    @pytest.mark.parametrize(
        ("options", "option"),
        [
            ({"service": f"bad {CANARY}"}, "service"),
            ({"environment": f"bad/{CANARY}"}, "environment"),
            ({"level": CANARY}, "level"),
            ({"level": True}, "level"),
            ({"level": 7}, "level"),
            ({"console": CANARY}, "console"),
            ({"hash_key": CANARY[:10]}, "hash_key"),
            ({"hash_key": KEY, "hash_key_id": f"id {CANARY}"}, "hash_key_id"),
            ({"fields": [CANARY]}, "fields"),
            ({"fields": {"page_count": CANARY}}, "fields"),
            ({"shutdown_timeout": -1}, "shutdown_timeout"),
            ({"shutdown_timeout": True}, "shutdown_timeout"),
            ({"skip_modules": [""]}, "skip_modules"),
            ({"cloudwatch": CANARY}, "cloudwatch"),
        ],
    )
    def test_bad_options_fail_fast_naming_the_option_not_the_value(
        self, console, options: dict[str, Any], option: str
    ) -> None:
        """Each bad option is a ConfigurationError naming the option and never the value."""
        with pytest.raises(safelog.ConfigurationError) as info:
            safelog.configure(**({"service": "svc", "console": console.stream} | options))
        message = str(info.value)
        assert option in message
        assert CANARY not in message
        assert CANARY[:10] not in message
        assert not safelog.is_configured()


class TestEnvironment:
    def test_options_come_from_safelog_variables(
        self, console, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SAFELOG_SERVICE, _ENVIRONMENT, _LEVEL, _HASH_KEY and _HASH_KEY_ID are read."""
        monkeypatch.setenv("SAFELOG_SERVICE", "env-svc")
        monkeypatch.setenv("SAFELOG_ENVIRONMENT", "prod")
        monkeypatch.setenv("SAFELOG_LEVEL", "warning")
        monkeypatch.setenv("SAFELOG_HASH_KEY", KEY)
        monkeypatch.setenv("SAFELOG_HASH_KEY_ID", "env1")
        safelog.configure(fields={"tenant": safelog.Hashed()}, console=console.stream)
        log = safelog.get_logger("t")
        log.info("hidden")
        log.warning("shown", tenant="acme")
        (record,) = console.records()
        assert record["service"] == "env-svc"
        assert record["environment"] == "prod"
        assert record["tenant"].startswith("env1:")

    @pytest.mark.parametrize("encoded", ENCODED_KEYS)
    def test_binary_hash_keys_decode(
        self, console, monkeypatch: pytest.MonkeyPatch, encoded: str
    ) -> None:
        """base64: and hex: keys decode to the same key as the raw one."""
        monkeypatch.setenv("SAFELOG_HASH_KEY", encoded)
        _configure(console, fields={"tenant": safelog.Hashed()})
        safelog.get_logger("t").info("hashed", tenant="acme")
        safelog.shutdown()
        monkeypatch.delenv("SAFELOG_HASH_KEY")
        _configure(console, fields={"tenant": safelog.Hashed()}, hash_key=KEY)
        safelog.get_logger("t").info("hashed", tenant="acme")
        first, second = console.records()
        assert first["tenant"] == second["tenant"]

    def test_undecodable_key_fails_without_echoing(
        self, console, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A base64: key that does not decode names the variable, not the value."""
        monkeypatch.setenv("SAFELOG_HASH_KEY", f"base64:{CANARY}!!")
        with pytest.raises(safelog.ConfigurationError, match="SAFELOG_HASH_KEY") as info:
            _configure(console, fields={"tenant": safelog.Hashed()})
        assert CANARY not in str(info.value)

    def test_explicit_arguments_win(self, console, monkeypatch: pytest.MonkeyPatch) -> None:
        """Explicit arguments override SAFELOG_* variables."""
        monkeypatch.setenv("SAFELOG_SERVICE", "env-svc")
        monkeypatch.setenv("SAFELOG_LEVEL", "DEBUG")
        monkeypatch.setenv("SAFELOG_ENVIRONMENT", "prod")
        _configure(console, service="explicit", level="ERROR", environment="dev")
        log = safelog.get_logger("t")
        log.warning("hidden")
        log.error("shown")
        (record,) = console.records()
        assert record["service"] == "explicit"
        assert record["environment"] == "dev"

    def test_console_variable(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], console
    ) -> None:
        """SAFELOG_CONSOLE=false writes nothing; true writes JSON lines to stderr."""
        monkeypatch.setenv("SAFELOG_CONSOLE", "false")
        safelog.configure(service="svc")
        safelog.get_logger("t").info("silent")
        safelog.shutdown()
        assert capsys.readouterr().err == ""
        monkeypatch.setenv("SAFELOG_CONSOLE", "true")
        safelog.configure(service="svc")
        safelog.get_logger("t").info("loud")
        safelog.shutdown()
        err = capsys.readouterr().err
        assert json.loads(err.splitlines()[-1])["event"] == "loud"

    def test_bad_console_variable_fails_without_echoing(
        self, monkeypatch: pytest.MonkeyPatch, console
    ) -> None:
        """An unknown SAFELOG_CONSOLE names the variable, not the value."""
        monkeypatch.setenv("SAFELOG_CONSOLE", CANARY)
        with pytest.raises(safelog.ConfigurationError, match="SAFELOG_CONSOLE") as info:
            safelog.configure(service="svc")
        assert CANARY not in str(info.value)


class TestPyproject:
    def _write(self, tmp_path: Path) -> Path:
        path = tmp_path / "pyproject.toml"
        path.write_text(PYPROJECT)
        return path

    def test_policy_and_options_from_a_path(self, console, tmp_path: Path) -> None:
        """pyproject=<path> loads fields and plain options from [tool.safelog]."""
        safelog.configure(pyproject=self._write(tmp_path), console=console.stream)
        log = safelog.get_logger("t")
        log.info("hidden", page_count=1)
        log.warning("shown", page_count=2, status="ok", other=CANARY)
        (record,) = console.records()
        assert record["service"] == "from-file"
        assert record["environment"] == "staging"
        assert record["page_count"] == 2
        assert record["status"] == "ok"
        assert record["dropped"] == 1

    def test_search_from_the_current_directory(
        self, console, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """pyproject=True finds pyproject.toml from the working directory upwards."""
        self._write(tmp_path)
        sub = tmp_path / "src" / "pkg"
        sub.mkdir(parents=True)
        monkeypatch.chdir(sub)
        safelog.configure(pyproject=True, console=console.stream)
        safelog.get_logger("t").error("from_search", page_count=3)
        (record,) = console.records()
        assert record["service"] == "from-file"
        assert record["page_count"] == 3

    def test_explicit_then_environment_then_file(
        self, console, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An explicit argument beats the environment, which beats the file."""
        path = self._write(tmp_path)
        monkeypatch.setenv("SAFELOG_ENVIRONMENT", "env-wins")
        safelog.configure(pyproject=path, service="explicit", level="INFO", console=console.stream)
        safelog.get_logger("t").info("precedence")
        (record,) = console.records()
        assert record["service"] == "explicit"
        assert record["environment"] == "env-wins"

    def test_explicit_fields_replace_the_files(self, console, tmp_path: Path) -> None:
        """fields= given explicitly wins over [tool.safelog.fields]."""
        path = self._write(tmp_path)
        safelog.configure(pyproject=path, fields={"status": safelog.Id()}, console=console.stream)
        safelog.get_logger("t").warning("explicit_fields", page_count=1, status="anything")
        (record,) = console.records()
        assert "page_count" not in record
        assert record["status"] == "anything"

    def test_missing_table_is_an_error(
        self, console, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """pyproject=True without a [tool.safelog] table fails naming 'pyproject'."""
        (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
        monkeypatch.chdir(tmp_path)
        with pytest.raises(safelog.ConfigurationError, match="pyproject"):
            safelog.configure(pyproject=True, console=console.stream)


class TestShutdown:
    def test_restores_logging_and_structlog(self, console) -> None:
        """Root handlers, root level, lastResort and structlog's config come back."""
        root = logging.getLogger()
        marker_handler = logging.NullHandler()
        root.addHandler(marker_handler)
        root.setLevel(logging.ERROR)
        structlog.configure(processors=[structlog.processors.JSONRenderer()])
        handlers = list(root.handlers)
        last_resort = logging.lastResort
        before = structlog.get_config()
        _configure(console, level="DEBUG")
        assert root.handlers != handlers
        assert root.level == logging.DEBUG
        assert structlog.get_config() != before
        safelog.shutdown()
        assert root.handlers == handlers
        assert root.level == logging.ERROR
        assert logging.lastResort is last_resort
        assert structlog.get_config() == before

    def test_is_idempotent(self, console) -> None:
        """shutdown() twice (or before configure) is harmless."""
        safelog.shutdown()
        _configure(console)
        safelog.shutdown()
        safelog.shutdown()
        assert not safelog.is_configured()

    def test_flushes_and_closes_every_sink(self, console) -> None:
        """Every sink gets the lines and is closed with the shutdown timeout."""
        factory = RecordingFactory()
        _configure(console, cloudwatch=factory, shutdown_timeout=2.5)
        assert factory.sink.metadata is not None
        assert factory.sink.metadata["service"] == "svc"
        safelog.get_logger("t").info("to_both")
        safelog.shutdown()
        assert json.loads(factory.sink.lines[0])["event"] == "to_both"
        assert factory.sink.lines[0] + "\n" == console.text
        # One deadline for flush and close together: close gets what is left.
        assert len(factory.sink.closed_with) == 1
        assert 0 < factory.sink.closed_with[0] <= 2.5

    def test_runs_registered_callbacks(self, console) -> None:
        """Callables on state.on_shutdown run once at shutdown, even if one raises."""
        calls: list[str] = []
        _configure(console)
        state = _config.current_state()

        def failing() -> None:
            raise RuntimeError(CANARY)

        state.on_shutdown.append(lambda: calls.append("first"))
        state.on_shutdown.append(failing)
        safelog.shutdown()
        safelog.shutdown()
        assert calls == ["first"]


class TestSelfCheck:
    def test_clean_after_configure(self, console) -> None:
        """Right after configure() nothing bypasses the chain."""
        _configure(console)
        assert safelog.self_check() == []

    def test_not_configured(self) -> None:
        """Before configure() the self-check says so."""
        assert safelog.self_check() == ["safelog is not configured"]

    def test_finds_a_handler_added_later(self, console) -> None:
        """A handler added after configure() is reported by type, without runtime names."""
        _configure(console)
        lg = logging.getLogger(f"late_{CANARY}")
        handler = logging.StreamHandler(io.StringIO())
        lg.addHandler(handler)
        try:
            problems = safelog.self_check()
        finally:
            lg.removeHandler(handler)
        assert len(problems) == 1
        assert "logging.StreamHandler" in problems[0]
        assert CANARY not in problems[0]

    def test_finds_a_later_dict_config(self, console) -> None:
        """logging.config.dictConfig after configure() is reported."""
        _configure(console)
        logging.config.dictConfig(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "handlers": {"h": {"class": "logging.StreamHandler", "stream": io.StringIO()}},
                "root": {"handlers": ["h"], "level": "INFO"},
            }
        )
        problems = safelog.self_check()
        assert any("no longer has safelog's handler" in p for p in problems)
        assert any("logging.StreamHandler" in p for p in problems)

    def test_finds_structlog_reconfigured(self, console) -> None:
        """Another structlog logger factory or wrapper class after configure() is reported."""
        _configure(console)
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(io.StringIO()))
        assert safelog.self_check() == ["structlog was reconfigured after safelog.configure()"]

    def test_foreign_structlog_processors_cannot_leak(self, console) -> None:
        """A later structlog wrapper and processors reach the sinks only as a marked record."""
        _configure(console)
        structlog.configure(
            processors=[structlog.processors.JSONRenderer()],
            wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        )
        structlog.get_logger().info("foreign", secret=CANARY)
        (record,) = console.records()
        assert record["event"] == "<non-constant-event>"
        assert record["level"] == "info"
        assert record["dropped"] == 1
        assert record["module"] == __name__
        assert CANARY not in console.text
        assert safelog.self_check() == ["structlog was reconfigured after safelog.configure()"]

    def test_structlog_processors_alone_do_not_bypass(self, console) -> None:
        """Changing only structlog's processors cannot bypass safelog's bound logger."""
        _configure(console)
        structlog.configure(processors=[structlog.processors.JSONRenderer()])
        structlog.get_logger().info("still_safe", secret=CANARY)
        (record,) = console.records()
        assert record["event"] == "still_safe"
        assert CANARY not in console.text
        assert safelog.self_check() == []


class TestStats:
    def test_counters_are_metadata_only(self, console) -> None:
        """stats() reports integer counters, including each sink's own."""
        factory = RecordingFactory()
        _configure(console, cloudwatch=factory)
        safelog.get_logger("t").info("counted", secret=CANARY)
        stats = safelog.stats()
        assert stats["internal_errors"] == 0
        assert stats["sink_errors"] == 0
        assert stats["stdlib_errors"] == 0
        assert stats["stdlib_suppressed"] == 0
        assert stats["recording_lines"] == 1
        assert all(type(v) is int for v in stats.values())
        assert CANARY not in json.dumps(stats)

    def test_empty_before_configure(self) -> None:
        """Before configure() there is nothing to count."""
        assert safelog.stats() == {}


class TestBeforeConfigure:
    def test_logging_before_configure_uses_a_safe_default(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Before configure() records are sanitized with no fields, to stderr."""
        safelog.get_logger("early").info("early_event", secret=CANARY)
        safelog.get_logger("early").info(f"early_{CANARY}")
        lines = capsys.readouterr().err.splitlines()
        first, second = (json.loads(line) for line in lines[-2:])
        assert first["event"] == "early_event"
        assert first["service"] == "unconfigured"
        assert first["dropped"] == 1
        assert second["event"] == "<non-constant-event>"
        assert CANARY not in "".join(lines)

    def test_a_logger_made_before_configure_follows_it(self, console) -> None:
        """A module-level logger created before configure() writes to the configured sinks."""
        early = safelog.get_logger("made_early")
        _configure(console, fields={"page_count": safelog.Int()})
        early.info("after_configure", page_count=1)
        (record,) = console.records()
        assert record["service"] == "svc"
        assert record["page_count"] == 1

    def test_handler_is_installed(self, console) -> None:
        """configure() leaves exactly safelog's handler on the root logger."""
        _configure(console)
        (handler,) = logging.getLogger().handlers
        assert isinstance(handler, SafelogHandler)
        assert _config.current_state().handler is handler


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
class TestFork:
    def test_child_records_carry_the_childs_pid(self, console) -> None:
        """After fork the child's records carry its own pid."""
        _configure(console)
        log = safelog.get_logger("t")
        log.info("parent")
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover -- the child
            code = 1
            try:
                os.close(read_fd)
                log.info("child")
                os.write(write_fd, console.text.splitlines()[-1].encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        chunks = []
        with os.fdopen(read_fd, "rb") as fh:
            chunks.append(fh.read())
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        child = json.loads(b"".join(chunks))
        # Python 3.12+ warns about fork() in a multi-threaded process (an
        # xdist worker is one): that warning is a record of its own.
        (parent,) = [r for r in console.records() if r["event"] == "parent"]
        assert child["event"] == "child"
        assert child["pid"] == pid
        assert parent["pid"] == os.getpid() != pid


class TestIssueExample:
    def test_the_issues_example_runs(self, console) -> None:
        """The issue's example: declared fields stay, content goes."""
        safelog.configure(
            service="exporter",
            fields={
                "page_count": safelog.Int(min=0),
                "duration_ms": safelog.Float(),
                "cached": safelog.Bool(),
                "status": safelog.Enum("ok", "failed"),
                "request_id": safelog.Id(),
                "tenant": safelog.Hashed(),
            },
            console=console.stream,
            level="INFO",
            hash_key=KEY,
        )
        log = safelog.get_logger(__name__)
        log.info("page_exported", page_count=3, duration_ms=12.5, status="ok", title=CANARY)
        logging.getLogger("anything").warning("also sanitized %s", CANARY)
        safelog.shutdown()
        first, second = console.records()
        assert (first["page_count"], first["duration_ms"], first["status"]) == (3, 12.5, "ok")
        assert first["dropped"] == 1
        assert second["event"] == "also sanitized %s"
        assert CANARY not in console.text


class TestStructlogDefaultsAtImport:
    def test_structlog_logger_bound_before_configure_follows_it(self, console) -> None:
        """structlog.get_logger().bind() at import time reaches the chain configured later."""
        _chain.install_structlog_defaults()
        early = structlog.get_logger("app").bind(component="worker")
        safelog.configure(
            service="svc",
            fields={"page_count": safelog.Int()},
            console=console.stream,
            level="WARNING",
        )
        early.info("below_the_level", email=CANARY)
        early.warning("login_failed", email=CANARY, page_count=1)
        (record,) = console.records()
        assert record["event"] == "login_failed"
        assert record["page_count"] == 1
        assert record["dropped"] == 2  # email and the bound component
        assert CANARY not in console.text

    def test_a_service_that_configured_structlog_itself_is_left_alone(self) -> None:
        """If structlog is already configured when safelog loads, safelog changes nothing."""
        structlog.configure(processors=[structlog.processors.KeyValueRenderer()])
        before = structlog.get_config()
        _chain.install_structlog_defaults()
        assert structlog.get_config() == before


class TestSelfCheckStructured:
    def test_problems_carry_a_code_and_a_name(self, console) -> None:
        """Each problem is the old sentence plus a stable code and a name of code."""
        (problem,) = safelog.self_check()
        assert problem == "safelog is not configured"
        assert problem.code == "not-configured"
        _configure(console)
        structlog.configure(logger_factory=structlog.PrintLoggerFactory())
        (problem,) = safelog.self_check()
        assert (problem.code, problem.name) == ("structlog-reconfigured", "structlog")

    def test_a_replaced_excepthook_is_reported(self, console, monkeypatch) -> None:
        """A library replacing sys.excepthook after configure() is a problem (16.6)."""
        _configure(console)

        def theirs(*args: object) -> None:
            return None

        monkeypatch.setattr(sys, "excepthook", theirs)
        (problem,) = safelog.self_check()
        assert problem.code == "hook-replaced"
        assert problem.name == "sys.excepthook"
        assert sys.excepthook is theirs

    def test_reinstall_hooks_puts_them_back(self, console, monkeypatch) -> None:
        """self_check(reinstall_hooks=True) reports the replaced hook and re-installs safelog's."""
        _configure(console)
        monkeypatch.setattr(threading, "excepthook", lambda args: None)
        problems = safelog.self_check(reinstall_hooks=True)
        assert [p.name for p in problems] == ["threading.excepthook"]
        assert threading.excepthook.__module__ == "safelog._hooks"
        assert safelog.self_check() == []


class TestCustomSinks:
    def test_a_sink_gets_finished_lines_only(self, console) -> None:
        """configure(sinks=[...]) hands every sanitized line to the sink."""
        sink = RecordingSink()
        _configure(console, sinks=[sink])
        safelog.get_logger("t").info("hello", email=CANARY)
        (line,) = sink.lines
        assert json.loads(line)["event"] == "hello"
        assert CANARY not in line

    @pytest.mark.parametrize("bad", [RecordingSink, object(), "stderr", [object()]])
    def test_not_a_sink_is_a_configuration_error(self, console, bad: Any) -> None:
        """A class, an object without the methods or a string names the sinks option."""
        sinks = bad if isinstance(bad, list) else [bad]
        if bad == "stderr":
            sinks = bad
        with pytest.raises(safelog.ConfigurationError, match=r"^sinks:"):
            _configure(console, sinks=sinks)
        assert not safelog.is_configured()

    def test_fork_hooks_are_called(self, console) -> None:
        """A sink's before_fork/after_fork_in_parent run around os.fork() in the parent."""
        calls: list[str] = []

        class ForkAware(RecordingSink):
            def before_fork(self) -> None:
                calls.append("before")

            def after_fork_in_parent(self) -> None:
                calls.append("parent")

        _configure(console, sinks=[ForkAware()])
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        assert calls == ["before", "parent"]
