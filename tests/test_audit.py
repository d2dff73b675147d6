"""`safelog audit`: what CloudWatch stored, checked against the policy, with nothing echoed."""

from __future__ import annotations

import io
import os
import json
import time
import uuid

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import safelog

from safelog.__main__ import main
from safelog._embedded import EmbeddedMoto
from safelog.audit import (
    RULES,
    RecordChecker,
    ScanOptions,
    Window,
    audit_group,
    data_protection_policy,
)
from safelog.audit._rules import kind_passes, looks_like_content
from safelog.policy import FieldPolicy


POLICY_TOML = """
[tool.safelog]
service = "exporter"

[tool.safelog.fields]
status     = { kind = "enum", values = ["ok", "failed"] }
page_count = { kind = "int", min = 0 }
tenant     = "hashed"
request_id = { kind = "id", max_length = 36 }
took       = { kind = "duration", unit = "ms" }
"""

SERVICE_CODE = """
import safelog
log = safelog.get_logger()
EXPORTED = "export.finished"

def run():
    log.info("export.started", page_count=1)
    log.info(EXPORTED, status="ok")
    log.warning("export.slow" if True else "export.fast")
    log.exception("export.failed")
"""

# Planted values: none of these may appear in any report.
EMAIL = "mallory.canary@example.org"
SECRET = "Zq8vN3kP0rT7wX2yB5mC9dF4gH6jL1sA"
SENTENCE = "Customer Alice Canary uploaded her tax return"
UNDECLARED_KEY = "customer_note_canary"
WRONG_KIND = "seventeen-canary"
TRUNCATED_TAIL = "truncated-canary-payload"
WATCHTOWER_TEXT = "Processing invoice for Bob Canary"
NOT_JSON = "GET /search?q=canary+secret HTTP/1.1 200"
BIG = "B" * 10 + "".join(uuid.uuid4().hex for _ in range(8000))  # 256 KB of hex


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
        mp.setenv("SAFELOG_HASH_KEY", "k" * 32)
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
        raise ValueError(EMAIL)
    except ValueError:
        log.exception("export.failed")
    safelog.shutdown()


PLANTED = {
    "free-text": (WATCHTOWER_TEXT, {"SA101"}),
    "undeclared-key": (
        json.dumps({"event": "export.finished", "level": "info", UNDECLARED_KEY: "x"}),
        {"SA201"},
    ),
    "wrong-kind": (
        json.dumps({"event": "export.finished", "level": "info", "page_count": WRONG_KIND}),
        {"SA202"},
    ),
    "unknown-event": (json.dumps({"event": "billing.charged", "level": "info"}), {"SA301"}),
    "email-in-id": (
        json.dumps({"event": "export.finished", "level": "info", "request_id": EMAIL}),
        {"SA202", "SA401"},
    ),
    "sentence-event": (json.dumps({"event": SENTENCE + "."}), {"SA301", "SA302"}),
    "truncated": (
        json.dumps({"event": "export.finished", "note": TRUNCATED_TAIL})[:-12],
        {"SA102"},
    ),
    "not-json": (NOT_JSON, {"SA101"}),
    "big-json": (json.dumps({"event": "export.finished", "blob": BIG}), {"SA201", "SA401"}),
    "secret-token": (
        json.dumps({"event": "export.finished", "status": SECRET}),
        {"SA202", "SA401"},
    ),
}


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


PLANTED_VALUES = [
    EMAIL,
    SECRET,
    SENTENCE,
    UNDECLARED_KEY,
    WRONG_KIND,
    TRUNCATED_TAIL,
    WATCHTOWER_TEXT,
    NOT_JSON,
    "canary",
    BIG[:40],
    "billing.charged",
    "Bob",
]


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
            assert value not in out and value not in err, value
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


class TestRules:
    def test_runtime_validators_decide_kinds(self) -> None:
        """A stored value passes exactly when the runtime kind returns it unchanged (or it is the marker)."""
        assert kind_passes(safelog.Int(min=0), 3)
        assert not kind_passes(safelog.Int(min=0), -1)
        assert not kind_passes(safelog.Int(), "3")
        assert kind_passes(safelog.Int(), "<rejected:int>")
        assert kind_passes(safelog.Float(), 3)
        assert kind_passes(safelog.Duration(), 1.5)
        assert kind_passes(safelog.Uuid(), "12345678-1234-1234-1234-123456789abc")
        assert not kind_passes(safelog.Uuid(), "12345678123412341234123456789ABC")
        assert kind_passes(safelog.Hashed(), "k1a2b3c4:" + "a" * 26)
        assert not kind_passes(safelog.Hashed(), "acme")
        assert not kind_passes(safelog.HttpMethod(), "get")

    def test_content_shapes(self) -> None:
        """E-mails, card numbers, URLs with queries, JWTs and random tokens look like content; names do not."""
        for text in [
            EMAIL,
            "4111 1111 1111 1111",
            "https://x.io/a?b=c",
            SECRET,
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc",
        ]:
            assert looks_like_content(text), text
        for text in [
            "export.finished",
            "app.handlers.upload_file",
            "1234567890123",
            "/pages/{page_id}",
        ]:
            assert not looks_like_content(text), text

    def test_error_and_stack_records_from_safelog_conform(self) -> None:
        """safelog's error records (type, frames, fingerprint, causes) are built-in metadata."""
        record = {
            "event": "x",
            "error": {
                "type": "ValueError",
                "frames": [
                    {"module": "a.b", "function": "f.<locals>.g", "line": 3},
                    {"omitted": 4},
                ],
                "fingerprint": "0123abcd",
                "cause": {"type": "KeyError", "frames": []},
            },
            "stack": [{"module": "a", "function": "<module>", "line": None}],
        }
        assert RecordChecker(FieldPolicy()).check(json.dumps(record)) == []
        record["error"]["message"] = EMAIL  # type: ignore[index]
        assert RecordChecker(FieldPolicy()).check(json.dumps(record)) == ["SA203", "SA401"]


class TestDataProtectionPolicy:
    def test_document_shape(self) -> None:
        """The generated document audits and masks the same managed identifiers."""
        doc = data_protection_policy(FieldPolicy(), group="/g")
        audit, mask = doc["Statement"]
        assert doc["Version"] == "2021-06-01"
        assert audit["DataIdentifier"] == mask["DataIdentifier"]
        assert "Audit" in audit["Operation"]
        assert mask["Operation"] == {"Deidentify": {"MaskConfig": {}}}


def _insights_rows(messages: list[tuple[str, str]], at: int) -> list[list[dict[str, str]]]:
    import datetime as dt

    rows = []
    for i, (stream, message) in enumerate(messages):
        stamp = dt.datetime.fromtimestamp((at + i) / 1000, tz=dt.timezone.utc)
        rows.append(
            [
                {"field": "@timestamp", "value": stamp.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]},
                {"field": "@logStream", "value": stream},
                {"field": "@message", "value": message},
                {"field": "@ptr", "value": f"ptr{i}"},
            ]
        )
    return rows


class TestInsightsEngine:
    """The Insights path, against botocore's Stubber (validates every request and response shape)."""

    def test_candidate_regexes_select_every_planted_record(self, pyproject: Path) -> None:
        """The server-side filter is a superset: each planted record matches one of its regexes."""
        import re

        from safelog._inventory import policy_from_pyproject
        from safelog.audit._insights import candidate_regexes

        checker = RecordChecker(policy_from_pyproject(pyproject)[0])
        regexes, conds = candidate_regexes(checker)
        compiled = [re.compile(r) for r in regexes]
        assert conds == ["`page_count` < 0", "`took` < 0.0"]
        for name, (message, _) in PLANTED.items():
            if name in ("unknown-event", "sentence-event"):
                continue  # selected by the event query, tested below
            assert any(r.search(message) for r in compiled), name
        # A Hashed value matches the long-token regex (a known cost of the
        # superset: such records are always fetched and judged here).
        conforming = json.dumps(
            {
                "timestamp": "2026-11-30T10:00:00.000Z",
                "level": "info",
                "event": "export.finished",
                "status": "ok",
                "page_count": 3,
                "request_id": "req-1",
                "took": 1.5,
            }
        )
        assert not any(r.search(conforming) for r in compiled)

    def test_insights_queries_and_findings(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Events are judged from a stats query; candidates come back and are judged locally."""
        from botocore.stub import ANY, Stubber

        from safelog.audit import format_text

        client = _client("http://127.0.0.1:9")
        at = 1_764_500_000_000
        planted = [("planted/1", m) for m, _ in PLANTED.values()]
        stats = [
            [{"field": "event", "value": "export.finished"}, {"field": "n", "value": "40"}],
            [{"field": "event", "value": SENTENCE + "."}, {"field": "n", "value": "1"}],
        ]
        statistics = {"recordsMatched": 2.0, "recordsScanned": 51.0, "bytesScanned": 9000.0}
        policy = FieldPolicy(
            {
                "status": safelog.Enum("ok", "failed"),
                "page_count": safelog.Int(min=0),
                "request_id": safelog.Id(max_length=36),
            }
        )
        with Stubber(client) as stub:
            query = {
                "logGroupName": "/g",
                "startTime": ANY,
                "endTime": ANY,
                "queryString": ANY,
                "limit": 10_000,
            }
            stub.add_response("start_query", {"queryId": "q1"}, query)
            stub.add_response(
                "get_query_results", {"status": "Running", "results": []}, {"queryId": "q1"}
            )
            stub.add_response(
                "get_query_results",
                {"status": "Complete", "results": stats, "statistics": statistics},
                {"queryId": "q1"},
            )
            stub.add_response("start_query", {"queryId": "q2"}, query)
            stub.add_response(
                "get_query_results",
                {
                    "status": "Complete",
                    "results": _insights_rows(planted, at),
                    "statistics": {**statistics, "recordsMatched": float(len(planted))},
                },
                {"queryId": "q2"},
            )
            report = audit_group(
                client,
                "/g",
                Window(at - 1000, at + 60_000),
                policy,
                engine="insights",
                opts=ScanOptions(slice_ms=3_600_000),
            )
            stub.assert_no_pending_responses()
        assert report.engine == "insights"
        assert report.scanned == 51
        assert report.calls == {"StartQuery": 2, "GetQueryResults": 3}
        assert report.records_with_findings == len(PLANTED) - 1  # the unknown event is known here
        text = format_text(report)
        for value in PLANTED_VALUES:
            assert value not in text
