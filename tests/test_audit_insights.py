"""The Logs Insights engine: server-side candidates (a superset), judged locally."""

from __future__ import annotations

import json

from pathlib import Path

import safelog

from audit_corpus import EMAIL, PLANTED, PLANTED_VALUES, POLICY_TOML, SENTENCE
from safelog.audit import Checkpoint, RecordChecker, ScanOptions, Window, audit_group
from safelog.policy import FieldPolicy


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
    """The Insights path, against botocore's Stubber (it validates requests and responses)."""

    def test_candidate_regexes_select_every_planted_record(self, tmp_path: Path) -> None:
        """The server-side filter is a superset: each planted record matches one of its regexes."""
        import re

        from safelog._inventory import policy_from_pyproject
        from safelog.audit._insights import candidate_regexes

        pyproject = tmp_path / "pyproject.toml"
        pyproject.write_text(POLICY_TOML, encoding="utf-8")
        checker = RecordChecker(policy_from_pyproject(pyproject)[0])
        regexes, conds = candidate_regexes(checker)
        compiled = [re.compile(r) for r in regexes]
        from safelog._context import BUILTIN_FIELDS

        # The integrations' request fields are judged too (their conditions
        # come in name order with the declared fields').
        declared = [c for c in conds if c.split("`")[1] not in BUILTIN_FIELDS]
        assert declared == ["`sampling_rate` > 1", "`page_count` < 0", "`took` < 0.0"]
        assert "`remaining_ms` < 0" in conds
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

    def test_insights_queries_and_findings(self, tmp_path: Path) -> None:
        """Events are judged from a stats query; candidates come back and are judged locally."""
        import boto3

        from botocore.stub import ANY, Stubber

        from safelog.audit import format_text

        client = boto3.client(
            "logs",
            endpoint_url="http://127.0.0.1:9",  # never reached: the Stubber answers
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        sent: list[str] = []
        client.meta.events.register(
            "provide-client-params.logs.StartQuery",
            lambda params, **_: sent.append(params["queryString"]),
        )
        at = 1_764_500_000_000
        planted = [("planted/1", m) for m, _ in PLANTED.values()]
        stats = [
            [
                {"field": "event", "value": "export.finished"},
                {"field": "logger", "value": "svc.export"},
                {"field": "n", "value": "40"},
            ],
            [{"field": "event", "value": SENTENCE + "."}, {"field": "n", "value": "1"}],
            [
                {"field": "event", "value": "export.finished"},
                {"field": "logger", "value": "Bob Canary session"},
                {"field": "n", "value": "1"},
            ],
        ]
        infra = [
            [{"field": "service", "value": "svc"}, {"field": "n", "value": "41"}],
            [
                {"field": "host", "value": "mallory.canary@example.org"},
                {"field": "n", "value": "1"},
            ],
        ]
        statistics = {"recordsMatched": 2.0, "recordsScanned": 51.0, "bytesScanned": 9000.0}
        policy = FieldPolicy(
            {
                "status": safelog.Enum("ok", "failed"),
                "page_count": safelog.Int(min=0),
                "request_id": safelog.Id(max_length=36),
            }
        )
        checkpoint = Checkpoint(tmp_path / "ck", {"group": "/g"})
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
                {"status": "Complete", "results": infra, "statistics": statistics},
                {"queryId": "q2"},
            )
            stub.add_response("start_query", {"queryId": "q3"}, query)
            stub.add_response(
                "get_query_results",
                {
                    "status": "Complete",
                    "results": _insights_rows(planted, at),
                    "statistics": {**statistics, "recordsMatched": float(len(planted))},
                },
                {"queryId": "q3"},
            )
            report = audit_group(
                client,
                "/g",
                Window(at - 1000, at + 60_000),
                policy,
                engine="insights",
                opts=ScanOptions(slice_ms=3_600_000),
                checkpoint=checkpoint,
            )
            stub.assert_no_pending_responses()
        assert sent[0].startswith("stats count(*) as n by event, level, logger")
        assert sent[1].startswith("stats count(*) as n by service, environment, host")
        assert sent[2].startswith("fields @timestamp, @logStream, @message, @ptr | filter ")
        # The values judged bad from the stats rows are selected by value.
        assert '`event` in ["' + SENTENCE + '."]' in sent[2]
        assert '`logger` in ["Bob Canary session"]' in sent[2]
        assert '`host` in ["mallory.canary@example.org"]' in sent[2]
        assert "svc.export" not in sent[2]
        assert report.engine == "insights"
        assert report.scanned == 51
        assert report.calls == {"StartQuery": 3, "GetQueryResults": 4}
        assert report.records_with_findings == len(PLANTED) - 1  # the unknown event is known here
        text = format_text(report)
        for value in PLANTED_VALUES:
            assert value not in text
        # Resumed from the checkpoint: no call at all (the Stubber has no answers).
        with Stubber(client):
            again = audit_group(
                client,
                "/g",
                Window(at - 1000, at + 60_000),
                policy,
                engine="insights",
                opts=ScanOptions(slice_ms=3_600_000),
                checkpoint=Checkpoint(tmp_path / "ck", {"group": "/g"}),
            )
        assert again.findings == report.findings
        assert again.scanned == report.scanned
        assert again.calls == {}

    def test_bad_builtin_values_are_selected(self) -> None:
        """Every built-in value the rules reject is selected by a regex or by the stats lists."""
        import re

        from safelog.audit._insights import _STATS_KEYS, candidate_regexes

        checker = RecordChecker(FieldPolicy())
        compiled = [re.compile(r) for r in candidate_regexes(checker)[0]]
        listed = {key for keys in _STATS_KEYS for key in keys}
        good = {
            "timestamp": "2026-11-30T10:00:00.123Z",
            "level": "info",
            "logger": "a.b",
            "event": "x",
            "module": "a.b",
            "function": "f",
            "line": 3,
            "service": "s",
            "host": None,
            "pid": 4,
            "dropped": 1,
            "buffered": True,
            "sampling_rate": 0.5,
        }
        text = json.dumps(good, separators=(",", ":"))
        assert checker.check(text) == []
        assert not any(r.search(text) for r in compiled)
        bad_values = [
            ("timestamp", "yesterday"),
            ("timestamp", "2026-11-30 10:00"),
            ("timestamp", 5),
            ("pid", "4"),
            ("pid", 4.5),
            ("line", "3"),
            ("dropped", [1]),
            ("buffered", False),
            ("buffered", "yes"),
            ("sampling_rate", "0.5"),
            ("sampling_rate", -1),
            ("sampling_rate", 2),
            ("host", 5),
            ("logger", ["a"]),
            ("level", 3),
            ("logger", "Alice Canary"),
            ("host", EMAIL),
            ("level", "loud"),
        ]
        for key, value in bad_values:
            record = json.dumps({**good, key: value}, separators=(",", ":"))
            assert checker.check(record), (key, value)
            by_regex = any(r.search(record) for r in compiled)
            by_stats = key in listed and type(value) is str
            by_bound = key == "sampling_rate" and type(value) in (int, float) and value > 1
            assert by_regex or by_stats or by_bound, (key, value)
