"""`safelog audit`: what CloudWatch stored, checked against the policy, with nothing echoed."""

from __future__ import annotations

import io
import json
import os
import secrets
import time
import uuid

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import safelog

from audit_corpus import EMAIL, PLANTED, PLANTED_VALUES, POLICY_TOML, SERVICE_CODE
from safelog.__main__ import main
from safelog._embedded import EmbeddedMoto
from safelog.audit import (
    RULES,
    ScanOptions,
    Window,
    audit_group,
)
from safelog.policy import FieldPolicy


@pytest.fixture(scope="module")
def moto() -> Iterator[EmbeddedMoto]:
    with EmbeddedMoto() as server:
        yield server


@pytest.fixture(scope="module")
def aws_env(moto: EmbeddedMoto) -> Iterator[str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_ENDPOINT_URL", moto.endpoint_url)
        mp.setenv("SAFELOG_HASH_KEY", secrets.token_hex(32))
        yield moto.endpoint_url


@pytest.fixture(scope="module")
def pyproject(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("service")
    path = root / "pyproject.toml"
    path.write_text(POLICY_TOML, encoding="utf-8")
    src = root / "src"
    src.mkdir()
    (src / "service.py").write_text(SERVICE_CODE, encoding="utf-8")
    return path


def _client(endpoint: str) -> Any:
    import boto3

    return boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1")


def _put(client: Any, group: str, stream: str, messages: list[str], at: int) -> None:
    client.create_log_stream(logGroupName=group, logStreamName=stream)
    events = [{"timestamp": at + i, "message": m} for i, m in enumerate(messages)]
    client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def _conforming_from_safelog(endpoint: str, pyproject: Path, group: str) -> None:
    """Records written by safelog itself through its CloudWatch sink."""
    from safelog.cloudwatch import CloudWatch

    safelog.configure(
        pyproject=pyproject,
        console=io.StringIO(),
        foreign_handlers="detach",
        cloudwatch=CloudWatch(log_group=group, client=_client(endpoint)),
    )
    log = safelog.get_logger("service")
    log.info("export.started", page_count=3, tenant="acme", request_id="req-1", took=12.5)
    log.info("export.finished", status="ok", page_count=3)
    log.info("export.finished", status="sideways", page_count=-1, secret=EMAIL)  # rejected/dropped
    try:
        raise ValueError(EMAIL)  # noqa: TRY301 -- the exception under test
    except ValueError:
        log.exception("export.failed")
    safelog.shutdown()


def _plant(client: Any, group: str, at: int) -> None:
    _put(client, group, "planted/1", [m for m, _ in PLANTED.values()], at)
    # A record written by plain watchtower: its default format is the message text.
    import logging

    import watchtower

    handler = watchtower.CloudWatchLogHandler(
        log_group_name=group,
        log_stream_name="watchtower/1",
        boto3_client=client,
        create_log_group=False,
    )
    wt = logging.getLogger("plain-watchtower")
    wt.propagate = False
    wt.addHandler(handler)
    wt.warning("Payment failed for %s", EMAIL)
    handler.flush()
    handler.close()
    wt.removeHandler(handler)
    wt.propagate = True


@pytest.fixture(scope="module")
def seeded(aws_env: str, pyproject: Path) -> tuple[str, Path]:
    group = f"/safelog-audit/{uuid.uuid4().hex[:10]}"
    _conforming_from_safelog(aws_env, pyproject, group)
    _plant(_client(aws_env), group, int(time.time() * 1000) - 5000)
    return group, pyproject


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["audit", *argv, "--no-progress"])
    out, err = capsys.readouterr()
    return code, out, err


class TestAuditAgainstMoto:
    def test_finds_exactly_the_planted_records(
        self, seeded: tuple[str, Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Every planted record is found with its rules, and no record safelog wrote is."""
        group, pyproject = seeded
        code, out, err = _run(
            capsys,
            group,
            "--pyproject",
            str(pyproject),
            "--source",
            str(pyproject.parent / "src"),
            "--engine",
            "scan",
            "--format",
            "json",
            "--since",
            "10m",
        )
        assert code == 1, err
        report = json.loads(out)
        streams = {f["stream"] for f in report["findings"]}
        assert streams == {"planted/1", "watchtower/1"}
        planted = [f for f in report["findings"] if f["stream"] == "planted/1"]
        by_record: dict[int, set[str]] = {}
        for f in planted:
            by_record.setdefault(f["timestamp"], set()).add(f["rule"])
        assert sorted(by_record.values(), key=sorted) == sorted(
            (rules for _, rules in PLANTED.values()), key=sorted
        )
        wt = [f["rule"] for f in report["findings"] if f["stream"] == "watchtower/1"]
        assert wt == ["SA101"]
        assert report["scanned"] == len(PLANTED) + 1 + 4
        assert report["api_calls"]["FilterLogEvents"] >= 2

    @pytest.mark.parametrize("fmt", ["text", "json", "sarif", "markdown"])
    def test_no_format_echoes_a_planted_value(
        self, seeded: tuple[str, Path], capsys: pytest.CaptureFixture[str], fmt: str
    ) -> None:
        """The report in every format holds none of the stored values or keys."""
        group, pyproject = seeded
        code, out, err = _run(
            capsys,
            group,
            "--pyproject",
            str(pyproject),
            "--engine",
            "scan",
            "--format",
            fmt,
            "--source",
            str(pyproject.parent / "src"),
        )
        assert code == 1
        assert out
        for value in PLANTED_VALUES:
            assert value not in out, value
            assert value not in err, value
        if fmt == "sarif":
            sarif = json.loads(out)
            assert sarif["version"] == "2.1.0"
            assert {r["ruleId"] for r in sarif["runs"][0]["results"]} <= set(RULES)
        if fmt == "markdown":
            assert "NOT conforming" in out
            assert "Records scanned" in out

    def test_conforming_group_exits_zero(
        self, aws_env: str, pyproject: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A group written only by safelog conforms: exit 0 and a conforming verdict."""
        group = f"/safelog-audit/{uuid.uuid4().hex[:10]}"
        _conforming_from_safelog(aws_env, pyproject, group)
        code, out, err = _run(
            capsys,
            group,
            "--pyproject",
            str(pyproject),
            "--engine",
            "scan",
            "--format",
            "markdown",
            "--source",
            str(pyproject.parent / "src"),
        )
        assert (code, err) == (0, "")
        assert "**Verdict: conforming" in out

    def test_policy_from_a_module_and_data_protection_document(
        self,
        seeded: tuple[str, Path],
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """--module reads the policy as inventory does; the data protection document is written."""
        group, _ = seeded
        (tmp_path / "audited_service.py").write_text(
            "import safelog\n"
            "FIELDS = {'status': safelog.Enum('ok', 'failed'), 'page_count': safelog.Int(min=0),\n"
            "          'tenant': safelog.Hashed(), 'request_id': safelog.Id(max_length=36),\n"
            "          'took': safelog.Duration()}\n",
            encoding="utf-8",
        )
        monkeypatch.chdir(tmp_path)
        monkeypatch.syspath_prepend(str(tmp_path))
        dpp = tmp_path / "dpp.json"
        code, out, err = _run(
            capsys,
            group,
            "--module",
            "audited_service:FIELDS",
            "--engine",
            "scan",
            "--format",
            "json",
            "--data-protection-policy",
            str(dpp),
        )
        assert code == 1, err
        report = json.loads(out)
        assert report["policy"]["source"] == "audited_service:FIELDS"
        assert {f["stream"] for f in report["findings"]} == {"planted/1", "watchtower/1"}
        doc = json.loads(dpp.read_text())
        assert doc["Statement"][1]["Operation"] == {"Deidentify": {"MaskConfig": {}}}

    def test_checkpoint_resumes_without_rereading(
        self, seeded: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A second run with the same checkpoint reads nothing again and reports the same."""
        group, pyproject = seeded
        ck = tmp_path / "audit.ck"
        args = (
            group,
            "--pyproject",
            str(pyproject),
            "--engine",
            "scan",
            "--format",
            "json",
            "--since",
            "2026-01-01T00:00:00Z",
            "--until",
            "2030-01-01T00:00:00Z",
            "--slice",
            "7d",
            "--checkpoint",
            str(ck),
        )
        first = json.loads(_run(capsys, *args)[1])
        second = json.loads(_run(capsys, *args)[1])
        assert second["findings"] == first["findings"]
        assert second["scanned"] == first["scanned"]
        assert "FilterLogEvents" not in second["api_calls"]
        assert EMAIL not in ck.read_text()


class TestBadInput:
    def test_no_such_group(
        self, aws_env: str, pyproject: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A group that does not exist: exit 2 and a message saying so."""
        code, out, err = _run(
            capsys, "/no/such/group", "--pyproject", str(pyproject), "--engine", "scan"
        )
        assert code == 2
        assert out == ""
        assert "does not exist" in err
        assert "Traceback" not in err

    def test_empty_window(
        self, seeded: tuple[str, Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A window with no records: exit 2, nothing audited."""
        group, pyproject = seeded
        code, _, err = _run(
            capsys,
            group,
            "--pyproject",
            str(pyproject),
            "--engine",
            "scan",
            "--since",
            "2001-01-01T00:00:00Z",
            "--until",
            "2001-01-02T00:00:00Z",
        )
        assert code == 2
        assert "no records in the window" in err

    @pytest.mark.parametrize(
        "window", [("--since", "yesterday"), ("--since", "1h", "--until", "2h"), ("--slice", "0h")]
    )
    def test_bad_window(
        self,
        aws_env: str,
        pyproject: Path,
        capsys: pytest.CaptureFixture[str],
        window: tuple[str, ...],
    ) -> None:
        """An unreadable or empty window is refused before any call, with exit 2."""
        code, _, err = _run(capsys, "/g", "--pyproject", str(pyproject), *window)
        assert code == 2
        assert "safelog audit: error:" in err
        assert "yesterday" not in err

    def test_no_permission(self, pyproject: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Access denied by the API: exit 2 naming the permissions needed, not the error text."""
        from botocore.stub import Stubber

        client = _client("http://127.0.0.1:9")
        with Stubber(client) as stub:
            stub.add_client_error(
                "describe_log_streams",
                "AccessDeniedException",
                "User: arn:secret is not authorized",
            )
            with pytest.raises(Exception) as info:
                audit_group(client, "/g", Window(0, 1000), FieldPolicy(), engine="scan")
        assert "logs:FilterLogEvents" in str(info.value)
        assert "arn:secret" not in str(info.value)

    def test_unreachable_endpoint(
        self, pyproject: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No server at the endpoint: exit 2, a fixed message, no traceback."""
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        code, _, err = _run(
            capsys,
            "/g",
            "--pyproject",
            str(pyproject),
            "--engine",
            "scan",
            "--region",
            "us-east-1",
            "--endpoint-url",
            "http://127.0.0.1:9",
        )
        assert code == 2
        assert "cannot reach" in err


class TestScanEngine:
    def test_throttling_is_retried_with_backoff_and_counted(self) -> None:
        """A throttled call is retried after a pause and counted; the audit completes."""
        from botocore.stub import Stubber

        client = _client("http://127.0.0.1:9")
        opts = ScanOptions(base_delay=0.01, slice_ms=10_000)
        stream = {"logStreamName": "svc/h/1", "firstEventTimestamp": 0, "lastEventTimestamp": 5}
        with Stubber(client) as stub:
            stub.add_response("describe_log_streams", {"logStreams": [stream]})
            stub.add_client_error("filter_log_events", "ThrottlingException", "Rate exceeded")
            stub.add_response(
                "filter_log_events",
                {"events": [{"logStreamName": "svc/h/1", "timestamp": 5, "message": "free text"}]},
            )
            report = audit_group(
                client, "/g", Window(0, 10_000), FieldPolicy(), engine="scan", opts=opts
            )
            stub.assert_no_pending_responses()
        assert report.throttled == 1
        assert report.calls == {"DescribeLogStreams": 1, "FilterLogEvents": 2}
        assert [(f.stream, f.timestamp, f.rule) for f in report.findings] == [
            ("svc/h/1", 5, "SA101")
        ]

    def test_throttling_that_never_ends_is_exit_two(self) -> None:
        """Throttled on every attempt: the audit stops with a message, never a partial verdict."""
        from botocore.stub import Stubber

        from safelog.audit import AuditError

        client = _client("http://127.0.0.1:9")
        opts = ScanOptions(base_delay=0.001, max_attempts=3)
        with Stubber(client) as stub:
            for _ in range(3):
                stub.add_client_error("describe_log_streams", "ThrottlingException", "Rate")
            with pytest.raises(AuditError, match="throttling"):
                audit_group(client, "/g", Window(0, 1), FieldPolicy(), engine="scan", opts=opts)

    def test_hostile_stream_names_are_shown_as_digests(self) -> None:
        """A stream named with content (or escapes) is named by a digest in reports."""
        from safelog.audit import stream_label

        assert stream_label("svc/host/42") == "svc/host/42"
        for name in (EMAIL, "svc/\x1b[31mred", "a" * 300):
            label = stream_label(name)
            assert label.startswith("<stream sha256:")
            assert name not in label


class TestProgress:
    def test_bar_only_on_a_terminal(
        self, seeded: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A progress bar is drawn on stderr when it is a terminal, and not otherwise."""

        class Terminal(io.StringIO):
            def isatty(self) -> bool:
                return True

        group, pyproject = seeded
        argv = ["audit", group, "--pyproject", str(pyproject), "--engine", "scan", "-o", os.devnull]
        tty = Terminal()
        monkeypatch.setattr("sys.stderr", tty)
        assert main(argv) == 1
        assert "slices" in tty.getvalue()
        pipe = io.StringIO()
        monkeypatch.setattr("sys.stderr", pipe)
        assert main(argv) == 1
        assert pipe.getvalue() == ""


class TestCommandLine:
    def test_python_dash_m(self, seeded: tuple[str, Path]) -> None:
        """`python -m safelog audit` runs the same command (in a subprocess)."""
        import subprocess
        import sys

        group, pyproject = seeded
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "safelog",
                "audit",
                group,
                "--pyproject",
                str(pyproject),
                "--engine",
                "scan",
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 1, proc.stderr
        assert json.loads(proc.stdout)["scanned"] > 0

    def test_light_imports(self) -> None:
        """Building the command line and importing safelog.audit import no boto3 (subprocess)."""
        import subprocess
        import sys

        code = (
            "import sys, safelog.__main__ as m, safelog.audit; m._parser(); "
            "print(sorted(k for k in sys.modules if k.split('.')[0] in ('boto3', 'botocore')))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
        ).stdout
        assert out.strip() == "[]"


class TestEngineChoice:
    def test_auto_uses_the_scan_where_insights_reports_no_statistics(
        self, seeded: tuple[str, Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """moto answers start_query without statistics: auto falls back to the scan and says so."""
        group, pyproject = seeded
        code, out, _ = _run(capsys, group, "--pyproject", str(pyproject), "--format", "json")
        report = json.loads(out)
        assert code == 1
        assert report["engine"] == "scan"
        assert report["api_calls"]["StartQuery"] == 1
        scan = json.loads(
            _run(
                capsys, group, "--pyproject", str(pyproject), "--format", "json", "--engine", "scan"
            )[1]
        )
        assert report["findings"] == scan["findings"]

    def test_insights_only_refuses_an_endpoint_without_it(
        self, seeded: tuple[str, Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--engine insights against moto: exit 2, naming the way out."""
        group, pyproject = seeded
        code, out, err = _run(capsys, group, "--pyproject", str(pyproject), "--engine", "insights")
        assert (code, out) == (2, "")
        assert "--engine scan" in err
