"""safelog's own errors: each misuse says what to do, and the message is shown in every sink."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap

from collections.abc import Iterator
from typing import Any

import pytest

import safelog

from safelog.errors import ConfigurationError


class ListSink:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, line: str) -> None:
        self.lines.append(line)

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        pass


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SAFELOG_"):
            monkeypatch.delenv(name)


def _error(record: dict[str, Any]) -> dict[str, Any]:
    error = record["error"]
    assert isinstance(error, dict)
    return error


class TestMisuseMessages:
    def test_configure_twice(self, clean_env: None) -> None:
        """A second configure() says to call shutdown() first."""
        safelog.configure(service="svc", console=io.StringIO())

        with pytest.raises(ConfigurationError) as info:
            safelog.configure(service="svc", console=io.StringIO())

        assert str(info.value) == (
            "safelog is already configured; call safelog.shutdown() before configuring again"
        )

    def test_cloudwatch_class_instead_of_instance(self, clean_env: None) -> None:
        """cloudwatch=safelog.CloudWatch (the class) says to pass an instance."""
        with pytest.raises(ConfigurationError) as info:
            safelog.configure(service="svc", cloudwatch=safelog.CloudWatch)  # type: ignore[arg-type]

        assert str(info.value) == (
            "cloudwatch: got a class; pass an instance, "
            "e.g. cloudwatch=safelog.CloudWatch(log_group=...)"
        )

    @pytest.mark.parametrize("values", [["a", "b"], ("a", "b"), {"a"}])
    def test_enum_given_a_list(self, values: Any) -> None:
        """Enum(["a", "b"]) says to pass the values as separate arguments."""
        with pytest.raises(ConfigurationError) as info:
            safelog.Enum(values)

        assert str(info.value) == (
            'Enum: pass the values as separate arguments, Enum("a", "b"), not one list; '
            "or an enum.Enum class"
        )

    @pytest.mark.parametrize("group", ["aws/lambda/exports", "AWS/custom"])
    def test_reserved_aws_log_group(self, group: str) -> None:
        """A log group under the reserved aws/ prefix is refused with a suggestion."""
        with pytest.raises(ConfigurationError) as info:
            safelog.CloudWatch(log_group=group, region="us-east-1")

        assert str(info.value) == (
            "log_group: names starting with 'aws/' are reserved for AWS services; "
            "use a prefix of your own, e.g. '/my-service/production'"
        )
        assert safelog.CloudWatch(log_group="/aws-exports", region="us-east-1")

    def test_handler_on_a_logger_whose_name_is_not_shown(self, clean_env: None) -> None:
        """A handler on a runtime-named logger is shown as <logger>, with how to find it."""
        tenant = "-".join(["acme", "4711"])  # noqa: FLY002 -- data: the name is built from it
        logger = logging.getLogger(f"tenant.{tenant}")
        handler = logging.StreamHandler(io.StringIO())
        logger.addHandler(handler)
        try:
            with pytest.raises(ConfigurationError) as info:
                safelog.configure(service="svc", console=io.StringIO(), foreign_handlers="error")
        finally:
            logger.removeHandler(handler)

        assert str(info.value) == (
            "stdlib handlers would bypass safelog's chain: logging.StreamHandler on <logger> "
            "(<logger> is a logger whose name is not shown (not a module name nor a literal "
            "of the handler's module: it could be data); list the loggers that have handlers "
            "with: [n for n, lg in logging.root.manager.loggerDict.items() if getattr(lg, "
            "'handlers', None)]). Remove them, or leave foreign_handlers at its default "
            "('detach') to take them over until shutdown()"
        )
        assert "acme" not in str(info.value)

    def test_handler_on_a_literal_logger_name_is_named(self, clean_env: None) -> None:
        """A logger named after a loaded module is shown by name."""
        logger = logging.getLogger("pytest")  # a loaded module's name
        handler = logging.StreamHandler(io.StringIO())
        logger.addHandler(handler)
        try:
            with pytest.raises(ConfigurationError, match=r"logging\.StreamHandler on pytest\."):
                safelog.configure(service="svc", console=io.StringIO(), foreign_handlers="error")
        finally:
            logger.removeHandler(handler)


class TestOwnErrorsAreShown:
    def test_message_in_every_sink(self, clean_env: None) -> None:
        """A ConfigurationError safelog raised is logged with its message, in console and sinks."""
        console, sink = io.StringIO(), ListSink()
        safelog.configure(service="svc", console=console, sinks=[sink])
        try:
            safelog.configure(service="again")
        except ConfigurationError:
            safelog.get_logger().exception("reconfigure_failed")
        safelog.shutdown()

        for line in (console.getvalue().strip(), *sink.lines):
            error = _error(json.loads(line))
            assert error["type"] == "safelog.errors.ConfigurationError"
            assert error["message"] == (
                "safelog is already configured; call safelog.shutdown() before configuring again"
            )

    def test_raised_by_the_service_is_a_type_only(self, clean_env: None) -> None:
        """The same class raised by the service's code, with data, keeps no message."""
        console = io.StringIO()
        safelog.configure(service="svc", console=console)
        try:
            raise ConfigurationError("zoe@example.com")  # noqa: TRY301 -- the service raises it
        except ConfigurationError:
            safelog.get_logger().exception("config_failed")
        safelog.shutdown()

        error = _error(json.loads(console.getvalue()))
        assert error["type"] == "safelog.errors.ConfigurationError"
        assert "message" not in error
        assert "zoe" not in console.getvalue()

    def test_a_subclass_never_qualifies(self, clean_env: None) -> None:
        """A subclass of ConfigurationError keeps no message, even raised from safelog's frame."""

        class Mine(ConfigurationError):
            pass

        console = io.StringIO()
        safelog.configure(service="svc", console=console)
        try:
            raise Mine("zoe@example.com")  # noqa: TRY301
        except Mine:
            safelog.get_logger().exception("config_failed")
        safelog.shutdown()

        assert "message" not in _error(json.loads(console.getvalue()))
        assert "zoe" not in console.getvalue()

    def test_uncaught_configure_twice_shows_why(self, tmp_path: Any) -> None:
        """configure() twice, uncaught: the crash record says what went wrong and what to do."""
        script = tmp_path / "twice.py"
        script.write_text(
            textwrap.dedent(
                """
                import safelog

                safelog.configure(service="svc")
                safelog.configure(service="svc")
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

        assert proc.returncode == 1
        (record,) = [json.loads(ln) for ln in proc.stderr.splitlines() if ln.startswith("{")]
        assert record["event"] == "uncaught_exception"
        assert _error(record)["message"] == (
            "safelog is already configured; call safelog.shutdown() before configuring again"
        )


@pytest.fixture(autouse=True)
def _no_leftover_handlers() -> Iterator[None]:
    yield
    logging.getLogger("pytest").handlers.clear()
