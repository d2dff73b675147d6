"""The development console: readable, explains every drop, never ships what it shows."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap

from pathlib import Path
from typing import Any

import pytest

import safelog

from safelog import _dev
from safelog._dev import MARKER_NAME_FROM_DATA


ROOT = Path(__file__).resolve().parent.parent
FIELDS = {"page_count": safelog.Int(min=0), "status": safelog.Enum("ok", "failed")}
# Synthetic customer content: may appear in test-failure messages only.
CANARY = "canary-7f3e-customer-text"
#: Code objects carry qualified names from Python 3.11 (co_qualname).
_QUALNAMES = sys.version_info >= (3, 11)


class ListSink:
    """A non-console sink: keeps every line it is given."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, line: str) -> None:
        self.lines.append(line)

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        pass


@pytest.fixture
def dev_console(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    for name in list(os.environ):
        if name.startswith("SAFELOG_") or name in dict(_dev.MANAGED_RUNTIMES):
            monkeypatch.delenv(name)
    return io.StringIO()


def _configure_dev(stream: io.StringIO, **options: Any) -> None:
    safelog.configure(service="svc", fields=FIELDS, console=stream, dev=True, **options)


def _render_export(log: Any) -> None:
    def render(page: dict[str, str]) -> None:
        raise KeyError(page["title"])

    form = {CANARY: "x"}  # a key that came from data
    try:
        render({"title": CANARY})
    except KeyError:
        log.exception("export_failed", page_count="three", status="ok", title=CANARY, **form)


class TestDevConsole:
    def test_record_is_readable(self, dev_console: io.StringIO) -> None:
        """A record shows time, level, event, fields and call site on one line, not JSON."""
        _configure_dev(dev_console)
        safelog.get_logger("app.exports").info("page_exported", page_count=3, status="ok")
        safelog.shutdown()

        (line,) = dev_console.getvalue().splitlines()
        assert not line.startswith("{")
        assert " info " in line
        assert "page_exported" in line
        assert "page_count=3" in line
        assert "status=ok" in line
        # Python 3.10 code objects have no qualified name: the function's name.
        function = (
            "TestDevConsole.test_record_is_readable" if _QUALNAMES else "test_record_is_readable"
        )
        assert f"[app.exports test_dev:{function}:" in line

    def test_no_colour_unless_a_terminal(self, dev_console: io.StringIO) -> None:
        """A stream that is not a terminal gets no ANSI escapes."""
        _configure_dev(dev_console)
        safelog.get_logger().info("page_exported")
        safelog.shutdown()

        assert "\x1b[" not in dev_console.getvalue()

    def test_colour_is_forced_with_force_colour(
        self, dev_console: io.StringIO, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """FORCE_COLOR colours the level; NO_COLOR wins over it."""
        monkeypatch.setenv("FORCE_COLOR", "1")
        monkeypatch.delenv("NO_COLOR", raising=False)
        _configure_dev(dev_console)
        safelog.get_logger().warning("slow_export")
        monkeypatch.setenv("NO_COLOR", "1")
        safelog.get_logger().warning("slow_export")
        safelog.shutdown()

        coloured, plain = dev_console.getvalue().splitlines()
        assert "\x1b[33mwarning" in coloured
        assert "\x1b[" not in plain

    def test_every_drop_by_name_and_reason(self, dev_console: io.StringIO) -> None:
        """Undeclared, wrong kind, name from data: each shown with its reason."""
        _configure_dev(dev_console)
        _render_export(safelog.get_logger("app"))
        safelog.shutdown()

        text = dev_console.getvalue()
        dropped = next(ln for ln in text.splitlines() if "dropped" in ln)
        assert "page_count (wrong kind: not a valid int)" in dropped
        assert "title (undeclared)" in dropped
        assert f"{MARKER_NAME_FROM_DATA} (undeclared)" in dropped
        # The key from data is a marker, never its text.
        assert dropped.count(CANARY) == 0

    def test_positional_and_non_constant_event(self, dev_console: io.StringIO) -> None:
        """Positional arguments are numbered; a built event is named as such, not shown."""
        _configure_dev(dev_console)
        log = safelog.get_logger()
        log.info("retrying %s", CANARY, 2)  # noqa: PLE1205 -- a positional too many, on purpose
        log.info(f"exported {CANARY}")  # noqa: G004 -- the mistake shown
        safelog.shutdown()

        first, _, second, third = dev_console.getvalue().splitlines()
        assert "#1 (positional argument), #2 (positional argument)" in _ + first
        assert "<non-constant-event>" in second
        assert "event (non-constant event: not a literal of the code)" in third
        assert CANARY not in dev_console.getvalue()

    def test_stdlib_args_and_extras(self, dev_console: io.StringIO) -> None:
        """A stdlib record's %-arguments are numbered and its undeclared extra= keys named."""
        _configure_dev(dev_console)
        logging.getLogger("vendor.http").warning("GET %s", CANARY, extra={"body": CANARY})
        safelog.shutdown()

        text = dev_console.getvalue()
        # extra= keys go through the policy like keyword fields (issue 10.7).
        assert "body (undeclared)" in text
        assert "#1 (positional argument)" in text
        assert CANARY not in text

    def test_exception_is_a_traceback_with_its_message(self, dev_console: io.StringIO) -> None:
        """Frames as module.function line N, then the type and the message (dev console only)."""
        _configure_dev(dev_console)
        _render_export(safelog.get_logger("app"))
        safelog.shutdown()

        lines = dev_console.getvalue().splitlines()
        start = lines.index(next(ln for ln in lines if "Traceback (most recent call last):" in ln))
        assert "test_dev._render_export line" in lines[start + 1]
        inner = "_render_export.<locals>.render" if _QUALNAMES else "render"
        assert f"test_dev.{inner} line" in lines[start + 2]
        assert f"KeyError: '{CANARY}'" in lines[start + 3]
        assert "dev console only, never shipped" in lines[start + 3]

    def test_control_characters_in_a_message_are_escaped(self, dev_console: io.StringIO) -> None:
        """An exception message cannot forge lines or recolour the terminal."""
        _configure_dev(dev_console)
        try:
            int("a\nforged line\x1b[31m")
        except ValueError:
            safelog.get_logger().exception("parse_failed")
        safelog.shutdown()

        text = dev_console.getvalue()
        assert "\x1b[31m" not in text
        assert (
            "ValueError: invalid literal for int() with base 10: 'a\\nforged line\\x1b[31m'" in text
        )
        assert not any(ln.startswith("forged") for ln in text.splitlines())


class TestNothingBeyondProduction:
    def test_other_sinks_get_the_production_line(
        self, dev_console: io.StringIO, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With dev on, a non-console sink gets exactly what it gets in production."""
        lines = {}
        for dev in (False, True):
            sink = ListSink()
            safelog.configure(
                service="svc", fields=FIELDS, console=io.StringIO(), sinks=[sink], dev=dev
            )
            log = safelog.get_logger("app")
            _render_export(log)
            log.info("retrying %s", CANARY)
            logging.getLogger("vendor").warning("GET %s", CANARY, extra={"body": 1})
            safelog.shutdown()
            lines[dev] = [_without_volatile(json.loads(ln)) for ln in sink.lines]

        assert lines[True] == lines[False]
        assert len(lines[True]) == 3
        assert CANARY not in json.dumps(lines[True])

    def test_console_false_with_dev_is_refused(self, dev_console: io.StringIO) -> None:
        """dev without a console has nothing to show: a ConfigurationError says so."""
        with pytest.raises(safelog.ConfigurationError) as info:
            safelog.configure(service="svc", console=False, dev=True)

        assert str(info.value) == (
            "dev: the development console needs a console; remove console=False or dev=True"
        )


def _without_volatile(record: dict[str, Any]) -> dict[str, Any]:
    # Lines differ run to run only in time, and in the line numbers of the
    # two calls made from different places.
    return {k: v for k, v in record.items() if k not in ("timestamp", "line", "pid")}


class TestSwitch:
    def test_safelog_dev_turns_it_on(
        self, dev_console: io.StringIO, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SAFELOG_DEV=1 turns the dev console on; dev=False overrides it."""
        monkeypatch.setenv("SAFELOG_DEV", "1")
        safelog.configure(service="svc", console=dev_console)
        safelog.get_logger().info("page_exported")
        safelog.shutdown()
        safelog.configure(service="svc", console=dev_console, dev=False)
        safelog.get_logger().info("page_exported")
        safelog.shutdown()

        dev_line, json_line = dev_console.getvalue().splitlines()
        assert not dev_line.startswith("{")
        assert json.loads(json_line)["event"] == "page_exported"

    @pytest.mark.parametrize("value", ["0", "false", "off", ""])
    def test_safelog_dev_off(
        self, value: str, dev_console: io.StringIO, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SAFELOG_DEV=0/false/off/empty leaves the JSON console."""
        monkeypatch.setenv("SAFELOG_DEV", value)
        safelog.configure(service="svc", console=dev_console)
        safelog.get_logger().info("page_exported")
        safelog.shutdown()

        assert json.loads(dev_console.getvalue())["event"] == "page_exported"

    def test_bad_safelog_dev_names_the_variable_not_the_value(
        self, dev_console: io.StringIO, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An unknown SAFELOG_DEV value is a ConfigurationError that does not echo it."""
        monkeypatch.setenv("SAFELOG_DEV", CANARY)

        with pytest.raises(safelog.ConfigurationError) as info:
            safelog.configure(service="svc", console=dev_console)

        assert str(info.value) == "SAFELOG_DEV: must be 1/true/yes/on or 0/false/no/off"

    def test_dev_must_be_a_bool(self, dev_console: io.StringIO) -> None:
        """dev= takes True, False or None only."""
        with pytest.raises(safelog.ConfigurationError) as info:
            safelog.configure(service="svc", console=dev_console, dev="yes")  # type: ignore[arg-type]

        assert str(info.value) == "dev: must be True, False or None (None: SAFELOG_DEV decides)"


class TestRefusal:
    def test_refused_with_a_cloudwatch_sink(self, dev_console: io.StringIO) -> None:
        """dev=True with cloudwatch= is a ConfigurationError at configure()."""
        cloudwatch = safelog.CloudWatch(log_group="/svc", region="us-east-1")

        with pytest.raises(safelog.ConfigurationError) as info:
            safelog.configure(service="svc", console=dev_console, dev=True, cloudwatch=cloudwatch)

        assert str(info.value) == (
            "dev: the development console cannot run with a CloudWatch sink (it shows what "
            "must never ship); remove dev=True or SAFELOG_DEV, or the cloudwatch option"
        )

    def test_safelog_dev_in_production_fails_fast(
        self, dev_console: io.StringIO, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A SAFELOG_DEV=1 left in a deployment that ships is refused, not obeyed."""
        monkeypatch.setenv("SAFELOG_DEV", "1")
        cloudwatch = safelog.CloudWatch(log_group="/svc", region="us-east-1")

        with pytest.raises(safelog.ConfigurationError, match="CloudWatch sink"):
            safelog.configure(service="svc", console=dev_console, cloudwatch=cloudwatch)

    @pytest.mark.parametrize(("variable", "runtime"), _dev.MANAGED_RUNTIMES)
    def test_refused_under_a_managed_runtime(
        self,
        variable: str,
        runtime: str,
        dev_console: io.StringIO,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Under Lambda, ECS, Kubernetes and the like the dev console refuses to start."""
        monkeypatch.setenv(variable, "set-by-the-runtime")

        with pytest.raises(safelog.ConfigurationError) as info:
            safelog.configure(service="svc", console=dev_console, dev=True)

        assert str(info.value) == (
            f"dev: the development console refuses to run under {runtime} ({variable} is "
            "set), where console output is shipped; remove dev=True or SAFELOG_DEV from "
            "this deployment"
        )
        assert "set-by-the-runtime" not in str(info.value)

    def test_lambda_example(self) -> None:
        """AWS Lambda's own variable is among those detected."""
        found = _dev.managed_runtime({"AWS_LAMBDA_FUNCTION_NAME": "fn"})

        assert found == ("AWS_LAMBDA_FUNCTION_NAME", "AWS Lambda")
        assert _dev.managed_runtime({"HOME": "/home/dev"}) is None


class TestPytestPlugin:
    def test_leak_checks_judge_production_output_under_safelog_dev(self, tmp_path: Path) -> None:
        """With SAFELOG_DEV=1 in the shell, a suite's console is production JSON, not dev."""
        (tmp_path / "test_service.py").write_text(
            textwrap.dedent(
                """
                import pytest

                import safelog


                @pytest.fixture(autouse=True)
                def logging_configured():
                    safelog.configure(service="svc", console=True)
                    yield
                    safelog.shutdown()


                def test_logs_a_failure(capsys, canary, safelog_capture):
                    secret = canary()
                    try:
                        int(secret)
                    except ValueError:
                        safelog.get_logger().exception("parse_failed")
                    err = capsys.readouterr().err
                    assert err.startswith("{"), err
                    assert secret not in err
                    safelog_capture.assert_no_leaks(secret)
                """
            ),
            encoding="utf-8",
        )
        env = {**os.environ, "SAFELOG_DEV": "1"}

        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--safelog-auto"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env=env,
            check=False,
        )

        assert proc.returncode == 0, proc.stdout[-3000:]
        assert "1 passed" in proc.stdout


class TestWithTheStdioGuard:
    def test_dev_lines_are_safelog_own_output(self, tmp_path: Path) -> None:
        """Under the stdio guard the dev console writes to the real stream, not as stdio_write."""
        script = tmp_path / "svc.py"
        script.write_text(
            textwrap.dedent(
                """
                import safelog

                safelog.configure(service="svc", dev=True, stdio="guard")
                safelog.get_logger("app").info("page_exported", title="x")
                print("customer text")
                safelog.shutdown()
                """
            ),
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOG_")}

        proc = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )

        assert proc.returncode == 0, proc.stderr
        lines = proc.stderr.splitlines()
        assert "page_exported" in lines[0]
        assert "title (undeclared)" in lines[1]
        # Only the print() became a stdio_write record; the dev lines did not.
        assert sum("stdio_write" in ln for ln in lines) == 1
        assert "customer text" not in proc.stdout + proc.stderr


class TestHeldRecords:
    def test_a_record_written_later_shows_its_own_notes_or_none(
        self, dev_console: io.StringIO
    ) -> None:
        """A buffered record emitted at the error never shows the error's drop reasons."""
        _configure_dev(dev_console, level="DEBUG", buffer_level="DEBUG")
        log = safelog.get_logger("app")
        with safelog.buffered():
            log.debug("cache_checked", owner="x")  # held
            log.error("export_failed", title="y")  # releases the held record
        safelog.shutdown()

        lines = dev_console.getvalue().splitlines()
        held = next(i for i, ln in enumerate(lines) if "cache_checked" in ln)
        failed = next(i for i, ln in enumerate(lines) if "export_failed" in ln)
        notes = {i: lines[i + 1] if i + 1 < len(lines) else "" for i in (held, failed)}
        assert "title (undeclared)" not in notes[held]
        assert "owner (undeclared)" not in notes[failed]
        assert "title (undeclared)" in notes[failed]


class TestTerminalSafety:
    def test_record_text_cannot_drive_the_terminal(self, dev_console: io.StringIO) -> None:
        """Control characters in an event literal are shown escaped, never sent raw."""
        _configure_dev(dev_console)
        safelog.get_logger().info("export\x1b[2J\ndone")
        safelog.shutdown()

        text = dev_console.getvalue()
        assert "\x1b[2J" not in text
        assert "export\\x1b[2J\\ndone" in text
        assert len(text.splitlines()) == 1
