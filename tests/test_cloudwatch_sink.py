"""
The CloudWatch sink without a server: loud failures for a missing region or
credentials, its counters, and what it hands to the other sinks.
"""

from __future__ import annotations

import io
import json
import socket
import time

from collections.abc import Callable
from pathlib import Path

import pytest

import safelog

from safelog.cloudwatch import FAILURE_EVENT, CloudWatchSink
from safelog.cloudwatch._sink import _PROBLEM_TEXT
from safelog.cloudwatch._transport import Reason


_AWS_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


@pytest.fixture
def bare_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS region, credentials or config files, and no instance metadata lookups."""
    for name in _AWS_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _sink() -> CloudWatchSink:
    from safelog._config import current_state

    return next(s for s in current_state().chain.dispatcher.sinks if isinstance(s, CloudWatchSink))


def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll *condition*; the timeout only stops a broken test."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class TestRegion:
    def test_no_region_fails_configure_naming_the_option(self, bare_aws: None) -> None:
        """With no region anywhere, configure() raises a ConfigurationError saying what to set."""
        with pytest.raises(safelog.ConfigurationError) as info:
            safelog.configure(service="svc", console=False, cloudwatch=safelog.CloudWatch("/g"))
        assert str(info.value).startswith("region: ")
        assert "AWS_DEFAULT_REGION" in str(info.value)
        assert not safelog.is_configured()

    def test_a_region_from_the_environment_or_the_option_is_enough(
        self, bare_aws: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """AWS_DEFAULT_REGION, or region=, satisfies the check (no network I/O either way)."""
        safelog.configure(
            service="svc", console=False, cloudwatch=safelog.CloudWatch("/g", region="eu-west-1")
        )
        safelog.shutdown(timeout=0.1)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        safelog.configure(service="svc", console=False, cloudwatch=safelog.CloudWatch("/g"))


class TestLoudFailures:
    def test_missing_credentials_are_reported_at_once_by_class_and_operation(
        self, bare_aws: None
    ) -> None:
        """The first failed send yields one record naming NoCredentialsError and PutLogEvents."""
        console = io.StringIO()
        cw = safelog.CloudWatch("/g", endpoint_url=_closed_port(), region="us-east-1")
        safelog.configure(service="svc", console=console, cloudwatch=cw)
        log = safelog.get_logger(__name__)
        log.info("page.saved")
        sink = _sink()
        assert _wait_for(lambda: sink.stats()["cloudwatch_failure_reports"] == 1)
        # Reported on the first failure, not after a retry budget.
        assert sink.stats()["cloudwatch_failed_credentials"] <= 2
        assert _wait_for(lambda: sink.stats()["cloudwatch_failed_credentials"] >= 3)
        records = [json.loads(x) for x in console.getvalue().splitlines()]
        failing = [r for r in records if r["event"] == FAILURE_EVENT]
        assert len(failing) == 1, "one record per failure streak, not one per retry"
        (record,) = failing
        assert record["level"] == "error"
        assert record["cloudwatch_reason"] == "credentials"
        assert record["cloudwatch_error"] == "NoCredentialsError"
        assert record["cloudwatch_operation"] == "PutLogEvents"
        # botocore's message ("Unable to locate credentials") is never written.
        assert "locate" not in console.getvalue()
        assert sink.problems() == [
            ("cloudwatch-credentials", "NoCredentialsError", _PROBLEM_TEXT[Reason.CREDENTIALS])
        ]
        (problem,) = safelog.self_check()
        assert (problem.code, problem.name) == ("cloudwatch-credentials", "NoCredentialsError")
        assert problem.message == _PROBLEM_TEXT[Reason.CREDENTIALS]
        safelog.shutdown(timeout=0.1)

    def test_without_another_sink_the_failure_goes_to_stderr(
        self, bare_aws: None, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """With console=False, the failure record is still said, on stderr."""
        cw = safelog.CloudWatch("/g", endpoint_url=_closed_port(), region="us-east-1")
        safelog.configure(service="svc", console=False, cloudwatch=cw)
        safelog.get_logger(__name__).info("page.saved")
        assert _wait_for(lambda: _sink().stats()["cloudwatch_failure_reports"] == 1)
        err = capfd.readouterr().err
        (record,) = [json.loads(x) for x in err.splitlines() if FAILURE_EVENT in x]
        assert record["cloudwatch_error"] == "NoCredentialsError"
        safelog.shutdown(timeout=0.1)


class TestCounters:
    def test_stats_have_a_count_per_failure_reason(self) -> None:
        """stats() lists every reason, at zero before anything failed."""
        sink = safelog.CloudWatch("/g", region="us-east-1", handle_sigterm=False).create_sink({})
        try:
            stats = sink.stats()
            assert {f"cloudwatch_failed_{r.value}" for r in Reason} <= set(stats)
            assert stats["cloudwatch_possible_duplicates"] == 0
            assert all(type(v) is int for v in stats.values())
            assert sink.problems() == []
        finally:
            sink.close(0)

    def test_closed_sink_counts_what_it_is_given(self) -> None:
        """A line written after close is counted as dropped_closed, never queued."""
        sink = safelog.CloudWatch("/g", region="us-east-1", handle_sigterm=False).create_sink({})
        sink.close(0)
        sink.write('{"event":"late"}')
        assert sink.stats()["cloudwatch_dropped_closed"] == 1
        assert sink.stats()["cloudwatch_queued"] == 0

    def test_oversized_lines_are_cut_and_counted_at_write(self) -> None:
        """The caller's write cuts a line over the event limit and counts it."""
        reported: list[str] = []
        factory = safelog.CloudWatch("/g", region="us-east-1", handle_sigterm=False)
        sink = factory.create_sink({"service": "svc"}, report=reported.append)
        try:
            sink.write(json.dumps({"event": "huge", "pad": "x" * 1_100_000}))
            stats = sink.stats()
            assert stats["cloudwatch_cut"] == 1
            assert stats["cloudwatch_queued_bytes"] < 1_048_576
        finally:
            sink.close(0)
        # The loss at close is handed to the other sinks, counted by cause.
        (loss,) = [json.loads(x) for x in reported]
        assert loss["cloudwatch_dropped_exit"] == 1

    def test_stream_names_are_filled_per_process(self) -> None:
        """The stream template is filled from trusted metadata and the pid only."""
        import os

        cw = safelog.CloudWatch("/g", region="us-east-1", stream="{service}/{environment}/{pid}")
        sink = cw.create_sink({"service": "svc", "environment": "prod", "user": "x"})
        try:
            assert sink.stream_name == f"svc/prod/{os.getpid()}"
        finally:
            sink.close(0)
