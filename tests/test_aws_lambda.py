"""safelog.aws_lambda: examples/lambda_handler.py invoked the way the Python runtime does."""

from __future__ import annotations

import json
import subprocess
import sys

from pathlib import Path
from typing import Any

import pytest

from safelog.testing import canary, find_leaks
from servers import EXAMPLES, child_env


EVENT_CANARY = canary("text")
TRACE_CANARY = canary("token")
XRAY = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
RUNTIME = Path(__file__).resolve().parent / "lambda_runtime.py"


def _invoke(tmp_path: Path, target: str, invocations: list[dict[str, Any]]) -> tuple[str, str]:
    events = tmp_path / "events.json"
    events.write_text(json.dumps(invocations), encoding="utf-8")
    env = child_env(
        AWS_LAMBDA_FUNCTION_NAME="items-fn",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
        AWS_LAMBDA_RUNTIME_API="127.0.0.1:9001",
        AWS_EXECUTION_ENV="AWS_Lambda_python3.11",
        AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/items-fn",
        AWS_LAMBDA_LOG_STREAM_NAME="2026/11/30/[$LATEST]abc",
        AWS_REGION="us-east-1",
    )
    proc = subprocess.run(
        [sys.executable, str(RUNTIME), target, str(events)],
        capture_output=True,  # bytes: the runtime joins report lines with CR
        timeout=60,
        cwd=EXAMPLES,
        env=env,
        check=False,
    )
    stdout, stderr = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    assert proc.returncode == 0, stderr[-3000:]
    return stdout, stderr


def _records(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.split("\n") if line.startswith("{")]


def _responses(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line[9:]) for line in stderr.splitlines() if line.startswith("RESPONSE ")]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return _invoke(
        tmp_path_factory.mktemp("lambda"),
        "lambda_handler.handler",
        [
            {"event": {"item_id": 1}, "trace": XRAY},
            {"event": {"item_id": 2, "fail": True, "note": EVENT_CANARY}, "trace": XRAY},
            {"event": f"not a dict {EVENT_CANARY}", "trace": ""},
            {"event": [EVENT_CANARY], "trace": f"Root={TRACE_CANARY}"},
        ],
    )


class TestInvocations:
    def test_stdout_json_by_default_in_lambda(self, run: tuple[str, str]) -> None:
        """In Lambda, records go to stdout as JSON lines; stderr holds no log record."""
        stdout, stderr = run
        assert _records(stdout)
        assert not any(line.startswith("{") for line in stderr.splitlines())

    def test_invocation_metadata_on_every_record(self, run: tuple[str, str]) -> None:
        """Request id, function name/version, cold start and X-Ray ids reach every record."""
        stdout, stderr = run
        records = _records(stdout)
        first_id = _responses(stderr)[0]["requestId"]
        mine = [r for r in records if r.get("aws_request_id") == first_id]
        assert {r["event"] for r in mine} == {"item_read", "item_read_stdlib", "lambda_invocation"}
        for r in mine:
            assert r["function_name"] == "items-fn"
            assert r["function_version"] == "$LATEST"
            assert r["cold_start"] is True
            assert r["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
            assert r["trace_id"] == "5759e988bd862e3fe1be46a994272793"
            assert r["span_id"] == "53995c3f42cd8ad8"
        (inv,) = [r for r in mine if r["event"] == "lambda_invocation"]
        assert 0 < inv["remaining_ms"] <= 3000
        assert inv["event_type"] == "object"
        later = [r for r in records if r["event"] == "lambda_invocation"][1:]
        assert [r["cold_start"] for r in later] == [False, False, False]

    def test_escaping_error_is_metadata_and_sanitized(self, run: tuple[str, str]) -> None:
        """An escaping error: type recorded; the runtime reports its type name and no message."""
        stdout, stderr = run
        failed = [r for r in _records(stdout) if r["event"] == "lambda_invocation" and "error" in r]
        (record,) = failed
        assert record["error"]["type"] == "ValueError"
        assert record["level"] == "error"
        error = _responses(stderr)[1]["error"]
        assert error["errorType"] == "ValueError"
        assert error["errorMessage"] == ""
        reports = [line for line in stdout.split("\n") if line.startswith("[ERROR]")]
        assert len(reports) == 1
        assert reports[0].startswith("[ERROR] ValueError\rTraceback (most recent call last):")
        # The original is not chained into the report: only the decorator's frame.
        assert "lambda_handler.py" not in reports[0]

    def test_event_not_a_dict_and_malformed_trace(self, run: tuple[str, str]) -> None:
        """A non-dict event is recorded by JSON type only; a malformed trace id is dropped."""
        stdout, _ = run
        invocations = [r for r in _records(stdout) if r["event"] == "lambda_invocation"]
        assert [r["event_type"] for r in invocations] == ["object", "object", "string", "array"]
        assert invocations[3]["trace_rejected"] is True
        assert "trace_id" not in invocations[3]
        assert "xray_trace_id" not in invocations[2]

    def test_no_canary_on_stdout_or_stderr(self, run: tuple[str, str]) -> None:
        """No planted content in anything the runtime would ship or return."""
        stdout, stderr = run
        assert (
            find_leaks(stdout + stderr, EVENT_CANARY, TRACE_CANARY, sink="lambda stdout/stderr")
            == []
        )


def test_opt_out_lets_the_runtime_report_the_original(tmp_path: Path) -> None:
    """sanitize_errors=False: the original escapes, and the runtime prints its message."""
    stdout, stderr = _invoke(
        tmp_path,
        "lambda_handler.handler_with_runtime_report",
        [{"event": {"note": EVENT_CANARY}, "trace": ""}],
    )
    (record,) = [r for r in _records(stdout) if r["event"] == "lambda_invocation"]
    assert record["error"]["type"] == "ValueError"
    assert EVENT_CANARY not in json.dumps(_records(stdout))
    # The documented trade-off: the runtime's own report carries the message.
    assert f"[ERROR] ValueError: could not handle {EVENT_CANARY}" in stdout
    assert _responses(stderr)[0]["error"]["errorMessage"].endswith(EVENT_CANARY)


class TestDetection:
    @pytest.mark.parametrize(
        ("env", "expected"),
        [
            ({"AWS_LAMBDA_FUNCTION_NAME": "f", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}, True),
            ({"AWS_LAMBDA_FUNCTION_NAME": "f", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}, True),
            ({"AWS_LAMBDA_FUNCTION_NAME": "f"}, False),
            ({"AWS_EXECUTION_ENV": "AWS_ECS_FARGATE"}, False),
            ({}, False),
        ],
    )
    def test_lambda_is_detected_from_the_runtime_environment(
        self, env: dict[str, str], expected: bool
    ) -> None:
        """Lambda is recognised only from the variables its runtime sets."""
        from safelog import _options

        assert _options.in_lambda(env) is expected

    def test_default_console_is_stdout_in_lambda(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """In Lambda the default console writes JSON lines to stdout, not stderr."""
        import safelog

        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "f")
        monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
        monkeypatch.delenv("SAFELOG_CONSOLE", raising=False)
        safelog.configure(service="svc")
        safelog.get_logger("t").info("in_lambda")
        safelog.shutdown()
        out, err = capsys.readouterr()
        assert json.loads(out.splitlines()[-1])["event"] == "in_lambda"
        assert "in_lambda" not in err
