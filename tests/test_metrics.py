"""Records that are CloudWatch metrics (EMF): schema, limits, refusals, CloudWatch, parity."""

from __future__ import annotations

import calendar
import json
import os
import secrets
import time
import uuid

from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from hypothesis import given
from hypothesis import strategies as st

import safelog

from conftest import ConsoleCapture
from cw_validation import CloudWatchLimits
from safelog import _metrics
from safelog._embedded import EmbeddedMoto
from safelog.policy import METRIC_UNITS
from strategies import CANARY_RE, content, nested_values, tokens


CANARY = "CANARY-5d1e-customer-search-query"

# The EMF specification's `_aws` object as a JSON Schema, written from
# CloudWatch's "Specification: Embedded metric format": the metadata object,
# its MetricDirective list, DimensionSet arrays (at most 30 names) and
# MetricDefinition objects (at most 100 per directive, Unit from CloudWatch's
# list, StorageResolution 1 or 60).
AWS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "additionalProperties": False,
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "additionalProperties": False,
                        "properties": {
                            "Namespace": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": 255,
                                "pattern": "^[^:]",
                            },
                            "Dimensions": {
                                "type": "array",
                                "items": {
                                    "type": "array",
                                    "maxItems": 30,
                                    "uniqueItems": True,
                                    "items": {"type": "string", "minLength": 1, "maxLength": 250},
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "Name": {
                                            "type": "string",
                                            "minLength": 1,
                                            "maxLength": 1024,
                                        },
                                        "Unit": {"enum": sorted(METRIC_UNITS)},
                                        "StorageResolution": {"enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


# Checked once here; `jsonschema.validate` would re-check the schema and
# build a new validator for every record.
_SCHEMA_CLASS = jsonschema.validators.validator_for(AWS_SCHEMA)
_SCHEMA_CLASS.check_schema(AWS_SCHEMA)
AWS_VALIDATOR = _SCHEMA_CLASS(AWS_SCHEMA)


def assert_valid_emf(record: dict[str, Any]) -> None:
    """The schema, plus the target-member rules a schema cannot say."""
    __tracebackhide__ = True
    AWS_VALIDATOR.validate(record)
    now_ms = time.time() * 1000
    stamp = record["_aws"]["Timestamp"]
    # CloudWatch rejects metrics more than two weeks old or two hours ahead.
    assert now_ms - 14 * 86400_000 < stamp < now_ms + 2 * 3600_000
    for directive in record["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for name in dimension_set:
                value = record[name]
                assert type(value) is str, f"dimension {name} is not a string"
                assert 1 <= len(value) <= 1024
                assert value.isascii()
                assert value.strip()
        for metric in directive["Metrics"]:
            value = record[metric["Name"]]
            values = value if type(value) is list else [value]
            assert 1 <= len(values) <= _metrics.MAX_VALUES
            for v in values:
                assert type(v) in (int, float), f"metric {metric['Name']} is not a number"


FIELDS: dict[str, safelog.Kind] = {
    "duration_ms": safelog.Duration(metric=True),
    "pages": safelog.Int(min=0, metric="Count"),
    "size": safelog.Float(min=0, metric="Bytes"),
    "status": safelog.Enum("ok", "failed", dimension=True),
    "method": safelog.HttpMethod(dimension=True),
    "code": safelog.HttpStatus(dimension=True),
    "route": safelog.Route("/exports/{export_id}", dimension=True),
    "cached": safelog.Bool(dimension=True),
    "export_id": safelog.Id(),
    "plain": safelog.Enum("a", "b"),
}


def _configure(console: ConsoleCapture, **kw: Any) -> Any:
    kw.setdefault("fields", FIELDS)
    kw.setdefault("metrics_namespace", "Exporter")
    safelog.configure(service="exporter", environment="prod", console=console.stream, **kw)
    return safelog.get_logger(__name__)


class TestEmbeddedMetricFormat:
    def test_a_record_with_metric_fields_is_valid_emf(self, console: ConsoleCapture) -> None:
        """Metric fields become metric definitions, dimension fields a dimension set."""
        log = _configure(console)
        log.info(
            "export.finished",
            duration_ms=812.5,
            pages=3,
            size=1024.0,
            status="ok",
            method="get",
            code=200,
            route="/exports/{export_id}",
            cached=False,
            export_id="e-1",
            plain="a",
        )
        (record,) = console.records()
        assert_valid_emf(record)
        (directive,) = record["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Exporter"
        assert directive["Metrics"] == [
            {"Name": "duration_ms", "Unit": "Milliseconds"},
            {"Name": "pages", "Unit": "Count"},
            {"Name": "size", "Unit": "Bytes"},
        ]
        assert directive["Dimensions"] == [
            ["service", "environment", "status", "method", "code", "route", "cached"]
        ]
        assert (record["duration_ms"], record["pages"], record["size"]) == (812.5, 3, 1024.0)
        assert (record["code"], record["cached"], record["method"]) == ("200", "false", "GET")
        assert record["export_id"] == "e-1"

    def test_aws_timestamp_is_the_records_own_time(self, console: ConsoleCapture) -> None:
        """_aws.Timestamp is the record's timestamp in epoch milliseconds."""
        log = _configure(console)
        log.info("export.finished", pages=1)
        (record,) = console.records()
        stamp = record["timestamp"]
        seconds = calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))
        expected = seconds * 1000 + int(stamp[20:23])
        assert record["_aws"]["Timestamp"] == expected

    def test_fields_that_are_neither_metric_nor_dimension_never_appear_in_aws(
        self, console: ConsoleCapture
    ) -> None:
        """Only declared metric/dimension field names (and service, environment) are in _aws."""
        log = _configure(console)
        log.info("export.finished", pages=2, export_id="e-9", plain="b", note=CANARY, **{CANARY: 1})
        (record,) = console.records()
        aws = json.dumps(record["_aws"])
        assert "export_id" not in aws
        assert "plain" not in aws
        assert "note" not in aws
        assert CANARY not in json.dumps(record)
        named = {m["Name"] for d in record["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
        named |= {
            n for d in record["_aws"]["CloudWatchMetrics"] for s in d["Dimensions"] for n in s
        }
        assert named <= {"service", "environment", *FIELDS}
        assert_valid_emf(record)

    def test_a_record_without_metric_values_has_no_aws(self, console: ConsoleCapture) -> None:
        """Dimensions alone, or a metric value that failed its kind, make no EMF record."""
        log = _configure(console)
        log.info("export.started", status="ok", method="GET")
        log.info("export.finished", pages=-1, size=CANARY)
        first, second = console.records()
        assert "_aws" not in first
        assert first["status"] == "ok"
        assert "_aws" not in second
        assert second["pages"] == "<rejected:int>"

    def test_rejected_or_missing_dimensions_are_left_out_of_the_set(
        self, console: ConsoleCapture
    ) -> None:
        """A dimension value that failed its kind is no dimension; the metric still goes out."""
        log = _configure(console)
        log.info("export.finished", pages=1, status=CANARY, code=999)
        (record,) = console.records()
        assert record["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "environment"]]
        assert record["status"] == "<rejected:enum>"
        assert_valid_emf(record)

    def test_without_environment_only_service_is_a_default_dimension(
        self, console: ConsoleCapture
    ) -> None:
        """The service is always a dimension; the environment only when configured."""
        safelog.configure(
            service="exporter", console=console.stream, fields=FIELDS, metrics_namespace="E"
        )
        safelog.get_logger(__name__).info("export.finished", pages=1)
        (record,) = console.records()
        assert record["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]

    def test_metrics_off_adds_no_stage_and_no_aws(self, console: ConsoleCapture) -> None:
        """Without metric fields the chain has no metrics stage and records no _aws."""
        safelog.configure(
            service="exporter", console=console.stream, fields={"pages": safelog.Int()}
        )
        from safelog import _config

        stages = _config.current_state().chain.processors
        assert not any(isinstance(p, _metrics.MetricEmbedder) for p in stages)
        safelog.get_logger(__name__).info("export.finished", pages=1)
        assert "_aws" not in console.records()[0]
        assert "metric_records" not in safelog.stats()


class TestLimits:
    def test_more_than_100_metric_values_are_cut_and_counted(self, console: ConsoleCapture) -> None:
        """A directive never lists more than 100 metrics; the rest stay plain fields, counted."""
        fields = {f"m{i:03d}": safelog.Int(metric="Count") for i in range(105)}
        log = _configure(console, fields=fields)
        log.info("many.metrics", **{name: i for i, name in enumerate(fields)})
        (record,) = console.records()
        assert_valid_emf(record)
        metrics = record["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        assert len(metrics) == _metrics.MAX_METRICS
        assert [m["Name"] for m in metrics] == list(fields)[:100]
        assert record["m104"] == 104
        assert safelog.stats()["metric_values_dropped"] == 5

    def test_more_than_30_dimensions_are_cut_and_counted(self, console: ConsoleCapture) -> None:
        """A dimension set never has more than 30 names; service and environment come first."""
        fields: dict[str, safelog.Kind] = {
            f"d{i:02d}": safelog.Enum("x", dimension=True) for i in range(31)
        }
        fields["pages"] = safelog.Int(metric="Count")
        log = _configure(console, fields=fields)
        log.info("many.dimensions", pages=1, **{f"d{i:02d}": "x" for i in range(31)})
        (record,) = console.records()
        assert_valid_emf(record)
        (dims,) = record["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
        assert len(dims) == _metrics.MAX_DIMENSIONS
        assert dims[:2] == ["service", "environment"]
        assert safelog.stats()["metric_dimensions_dropped"] == 3

    def test_the_schema_refuses_what_the_limits_forbid(self) -> None:
        """The test schema itself fails a record over the limits (it can fail)."""
        record = {
            "_aws": {
                "Timestamp": 1,
                "CloudWatchMetrics": [
                    {
                        "Namespace": "N",
                        "Dimensions": [[f"d{i}" for i in range(31)]],
                        "Metrics": [{"Name": "m"}],
                    }
                ],
            }
        }
        with pytest.raises(jsonschema.ValidationError):
            AWS_VALIDATOR.validate(record)
        record["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = [[]]
        record["_aws"]["CloudWatchMetrics"][0]["Metrics"] = [{"Name": "m", "Unit": "Parsecs"}]
        with pytest.raises(jsonschema.ValidationError):
            AWS_VALIDATOR.validate(record)


class _Custom(safelog.Kind):
    kind_name = "tier"

    def clean(self, value: object) -> str:
        return "gold"


class TestConfigureRefuses:
    @pytest.mark.parametrize(
        "kind",
        [
            safelog.Id(dimension=True),
            safelog.Hashed(dimension=True),
            safelog.Uuid(dimension=True),
            safelog.Int(dimension=True),
            safelog.Float(dimension=True),
            _Custom(dimension=True),
        ],
        ids=["id", "hashed", "uuid", "int", "float", "custom"],
    )
    def test_a_dimension_that_is_not_a_closed_set(self, kind: safelog.Kind) -> None:
        """An id, a hash, a number or a custom kind is refused as a dimension, naming the field."""
        with pytest.raises(safelog.ConfigurationError) as info:
            safelog.configure(
                service="svc",
                console=False,
                fields={"tenant": kind},
                metrics_namespace="N",
                hash_key=secrets.token_bytes(32),
            )
        assert "'tenant'" in str(info.value)
        assert "dimension" in str(info.value)

    @pytest.mark.parametrize(
        ("kind", "words"),
        [
            (safelog.Enum("a", metric=True), "cannot be a metric"),
            (_Custom(metric="Count"), "cannot be a metric"),
            (safelog.Int(metric="Parsecs"), "CloudWatch unit"),
            (safelog.Float(metric="milliseconds"), "CloudWatch unit"),
            (safelog.Duration(unit="s", metric="Milliseconds"), "own unit"),
            (safelog.Enum("caf\u00e9", dimension=True), "ASCII"),
        ],
    )
    def test_a_wrong_metric_declaration(self, kind: safelog.Kind, words: str) -> None:
        """A metric on a non-numeric kind or with a unit CloudWatch does not know is refused."""
        with pytest.raises(safelog.ConfigurationError, match=words) as info:
            safelog.configure(
                service="svc", console=False, fields={"f": kind}, metrics_namespace="N"
            )
        assert "'f'" in str(info.value)

    def test_metric_fields_need_a_namespace(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Metric fields without a namespace fail at configure, naming the option."""
        monkeypatch.delenv("SAFELOG_METRICS_NAMESPACE", raising=False)
        with pytest.raises(safelog.ConfigurationError, match=r"^metrics_namespace: required"):
            safelog.configure(
                service="svc", console=False, fields={"n": safelog.Int(metric="Count")}
            )

    @pytest.mark.parametrize("bad", ["", "   ", "AWS/Lambda", "x" * 256, "caf\u00e9", 7])
    def test_a_bad_namespace(self, bad: object) -> None:
        """A namespace CloudWatch would refuse fails at configure, naming the option only."""
        with pytest.raises(safelog.ConfigurationError) as info:
            safelog.configure(service="svc", console=False, metrics_namespace=bad)  # type: ignore[arg-type]
        assert str(info.value).startswith("metrics_namespace:")
        assert not (isinstance(bad, str) and bad.strip() and bad in str(info.value))

    def test_a_metric_kind_refuses_a_non_unit_type(self) -> None:
        """metric= must be a unit name or True; anything else fails at once."""
        with pytest.raises(safelog.ConfigurationError, match=r"^metric:"):
            safelog.Int(metric=3)  # type: ignore[arg-type]
        with pytest.raises(safelog.ConfigurationError, match=r"^dimension:"):
            safelog.Enum("a", dimension="yes")  # type: ignore[arg-type]


class TestNamespaceSources:
    def test_environment_variable(
        self, console: ConsoleCapture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SAFELOG_METRICS_NAMESPACE sets the namespace."""
        monkeypatch.setenv("SAFELOG_METRICS_NAMESPACE", "FromEnv")
        safelog.configure(service="svc", console=console.stream, fields=FIELDS)
        safelog.get_logger(__name__).info("x.done", pages=1)
        assert console.records()[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "FromEnv"

    def test_pyproject(self, console: ConsoleCapture, tmp_path: Any) -> None:
        """[tool.safelog] metrics_namespace and metric=/dimension= in fields work."""
        (tmp_path / "pyproject.toml").write_text(
            "[tool.safelog]\n"
            'service = "svc"\n'
            'metrics_namespace = "FromFile"\n'
            "[tool.safelog.fields]\n"
            'pages = { kind = "int", metric = "Count" }\n'
            'took = { kind = "duration", unit = "s", metric = true }\n'
            'status = { kind = "enum", values = ["ok"], dimension = true }\n'
        )
        safelog.configure(console=console.stream, pyproject=tmp_path)
        safelog.get_logger(__name__).info("x.done", pages=1, took=0.5, status="ok")
        (record,) = console.records()
        (directive,) = record["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "FromFile"
        assert directive["Metrics"] == [
            {"Name": "pages", "Unit": "Count"},
            {"Name": "took", "Unit": "Seconds"},
        ]
        assert directive["Dimensions"] == [["service", "status"]]

    def test_pyproject_dimension_on_an_id_names_the_field(self, tmp_path: Any) -> None:
        """An id declared as a dimension in [tool.safelog.fields] fails naming the field."""
        (tmp_path / "pyproject.toml").write_text(
            '[tool.safelog]\nservice = "svc"\nmetrics_namespace = "N"\n'
            '[tool.safelog.fields]\nuser_ref = { kind = "id", dimension = true }\n'
        )
        with pytest.raises(safelog.ConfigurationError, match=r"'user_ref'.*dimension"):
            safelog.configure(console=False, pyproject=tmp_path)


class TestMetricOnlyRecords:
    def test_log_metric_is_a_metric_record(self, console: ConsoleCapture) -> None:
        """log.metric() emits level "metric" with EMF, whatever the configured level."""
        log = _configure(console, level="ERROR")
        log.info("not.emitted", pages=1)
        log.metric("export.finished", duration_ms=5.0, status="ok", export_id="e-1", note=CANARY)
        (record,) = console.records()
        assert record["level"] == "metric"
        assert record["event"] == "export.finished"
        assert record["dropped"] == 1
        assert CANARY not in json.dumps(record)
        assert_valid_emf(record)
        assert record["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [
            ["service", "environment", "status"]
        ]

    async def _ametric(self, log: Any) -> None:
        await log.ametric("export.finished", pages=2)

    def test_async_variant_and_structlog_loggers(self, console: ConsoleCapture) -> None:
        """ametric() and structlog.get_logger() loggers have metric() too."""
        import asyncio

        import structlog

        log = _configure(console)
        asyncio.run(self._ametric(log))
        structlog.get_logger().metric("export.finished", pages=3)
        first, second = console.records()
        assert (first["pages"], second["pages"]) == (2, 3)
        assert first["level"] == second["level"] == "metric"

    def test_non_literal_event_is_replaced_as_always(self, console: ConsoleCapture) -> None:
        """A metric record's event follows the same rule as any record."""
        log = _configure(console)
        log.metric(f"export.{CANARY}", pages=1)
        (record,) = console.records()
        assert record["event"] == "<non-constant-event>"
        assert_valid_emf(record)


# -- the same metrics from aws-embedded-metrics ---------------------------


def _reference_record(
    namespace: str, dims: dict[str, str], metrics: list[tuple[str, Any, str]]
) -> dict[str, Any]:
    """What aws-embedded-metrics writes for these metrics (its own serializer, no I/O)."""
    from aws_embedded_metrics.logger.metrics_context import MetricsContext
    from aws_embedded_metrics.serializers.log_serializer import LogSerializer

    context = MetricsContext.empty()
    context.namespace = namespace
    context.put_dimensions(dims)
    for name, value, unit in metrics:
        context.put_metric(name, value, unit)
    (line,) = LogSerializer.serialize(context)
    return json.loads(line)


def _identity(record: dict[str, Any]) -> tuple[Any, ...]:
    """Names, units, dimension sets with their values, and metric values of an EMF record."""
    (directive,) = record["_aws"]["CloudWatchMetrics"]
    metrics = sorted((m["Name"], m.get("Unit"), record[m["Name"]]) for m in directive["Metrics"])
    dimensions = [sorted((n, record[n]) for n in s) for s in directive["Dimensions"]]
    return directive["Namespace"], metrics, dimensions


class TestParityWithAwsEmbeddedMetrics:
    def test_one_request_gives_the_same_metrics(self, console: ConsoleCapture) -> None:
        """Names, units, dimensions and values match aws-embedded-metrics for one request."""
        log = _configure(console)
        log.metric(
            "request.finished",
            duration_ms=41.5,
            pages=7,
            size=2048.0,
            method="POST",
            code=201,
            route="/exports/{export_id}",
            cached=True,
        )
        (ours,) = console.records()
        reference = _reference_record(
            "Exporter",
            {
                "service": "exporter",
                "environment": "prod",
                "method": "POST",
                "code": "201",
                "route": "/exports/{export_id}",
                "cached": "true",
            },
            [
                ("duration_ms", 41.5, "Milliseconds"),
                ("pages", 7, "Count"),
                ("size", 2048.0, "Bytes"),
            ],
        )
        assert_valid_emf(ours)
        assert_valid_emf(reference)
        assert _identity(ours) == _identity(reference)

    def test_the_comparison_can_fail(self, console: ConsoleCapture) -> None:
        """A different unit on the reference side makes the identities differ."""
        log = _configure(console)
        log.metric("request.finished", pages=7)
        (ours,) = console.records()
        reference = _reference_record(
            "Exporter", {"service": "exporter", "environment": "prod"}, [("pages", 7, "None")]
        )
        assert _identity(ours) != _identity(reference)


class TestThroughStdout:
    def test_lambda_style_stdout_lines_are_valid_emf(self, tmp_path: Any) -> None:
        """In Lambda (stdout by default, where Lambda extracts EMF) each metric line is EMF."""
        import subprocess
        import sys

        script = tmp_path / "handler.py"
        script.write_text(
            "import safelog\n"
            "safelog.configure(fields={'took': safelog.Duration(metric=True),\n"
            "    'outcome': safelog.Enum('ok', dimension=True)})\n"
            "log = safelog.get_logger(__name__)\n"
            f"log.metric('invocation.done', took=3.5, outcome='ok', note={CANARY!r})\n",
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOG_", "AWS_"))}
        # No SAFELOG_CONSOLE: in Lambda the console is stdout by default.
        env.update(
            SAFELOG_SERVICE="fn",
            SAFELOG_METRICS_NAMESPACE="Fn",
            AWS_LAMBDA_FUNCTION_NAME="fn",
            AWS_LAMBDA_RUNTIME_API="127.0.0.1:9001",
        )
        proc = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        (line,) = proc.stdout.splitlines()
        record = json.loads(line)
        assert_valid_emf(record)
        assert record["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Fn"
        assert CANARY not in proc.stdout + proc.stderr


# -- through a real CloudWatch (moto) --------------------------------------

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def moto() -> Iterator[EmbeddedMoto]:
    saved = {k: os.environ.get(k) for k in AWS_ENV}
    os.environ.update(AWS_ENV)
    try:
        with EmbeddedMoto() as server:
            yield server
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _client(endpoint: str, limits: CloudWatchLimits | None = None) -> Any:
    import boto3

    client = boto3.session.Session().client("logs", region_name="us-east-1", endpoint_url=endpoint)
    if limits is not None:
        limits.install(client)
    return client


class TestThroughCloudWatch:
    def test_emf_records_are_stored_and_read_back_valid(
        self, moto: EmbeddedMoto, console: ConsoleCapture
    ) -> None:
        """EMF records shipped to CloudWatch (moto, with CloudWatch's limits) come back valid."""
        limits = CloudWatchLimits()
        group = f"/test/metrics/{uuid.uuid4().hex[:10]}"
        endpoint = moto.endpoint_url
        safelog.configure(
            service="exporter",
            environment="prod",
            console=False,
            fields=FIELDS,
            metrics_namespace="Exporter",
            cloudwatch=safelog.CloudWatch(
                log_group=group, client=lambda: _client(endpoint, limits)
            ),
        )
        log = safelog.get_logger(__name__)
        for i in range(20):
            log.metric("request.finished", duration_ms=float(i), pages=i, status="ok", note=CANARY)
        log.info("plain.record", plain="a")
        safelog.shutdown()
        try:
            assert limits.violations == []
        finally:
            limits.release()
        reader = _client(endpoint)
        messages = [
            e["message"]
            for page in reader.get_paginator("filter_log_events").paginate(logGroupName=group)
            for e in page["events"]
        ]
        records = [json.loads(m) for m in messages]
        metric_records = [r for r in records if r.get("event") == "request.finished"]
        assert len(metric_records) == 20
        for record in metric_records:
            assert_valid_emf(record)
        assert sorted(r["pages"] for r in metric_records) == list(range(20))
        assert not any(CANARY in m for m in messages)
        assert all("_aws" not in r for r in records if r.get("event") == "plain.record")


# -- the core invariant, as a property --------------------------------------

PROPERTY_FIELDS: dict[str, safelog.Kind] = {
    "duration_ms": safelog.Duration(metric=True),
    "pages": safelog.Int(min=0, metric="Count"),
    "status": safelog.Enum("ok", "failed", dimension=True),
    "code": safelog.HttpStatus(dimension=True),
    "cached": safelog.Bool(dimension=True),
    "request_id": safelog.Id(),
}
_VALID: dict[str, st.SearchStrategy[Any]] = {
    "duration_ms": st.floats(0, 1e9, allow_nan=False, allow_infinity=False),
    "pages": st.integers(0, 10**6),
    "status": st.sampled_from(["ok", "failed"]),
    "code": st.integers(100, 599),
    "cached": st.booleans(),
}


@st.composite
def metric_calls(draw: st.DrawFn) -> dict[str, Any]:
    """A call mixing valid metric/dimension values, canary values and undeclared keys."""
    call: dict[str, Any] = {}
    for name, strategy in _VALID.items():
        choice = draw(st.sampled_from(["valid", "canary", "absent"]))
        if choice == "valid":
            call[name] = draw(strategy)
        elif choice == "canary":
            call[name] = draw(nested_values())
    token = draw(tokens)
    call.update(draw(st.dictionaries(content(token), nested_values(), max_size=2)))
    return call


class TestProperties:
    @given(calls=st.lists(metric_calls(), min_size=1, max_size=4), error=st.booleans())
    def test_no_canary_reaches_a_record_and_every_aws_is_valid(
        self, calls: list[dict[str, Any]], error: bool
    ) -> None:
        """Whatever a call passes, no canary is emitted and every _aws is valid EMF."""
        import io
        import re

        stream = io.StringIO()
        safelog.configure(
            service="props",
            console=stream,
            fields=PROPERTY_FIELDS,
            metrics_namespace="Props",
            buffer_level="DEBUG",
        )
        try:
            log = safelog.get_logger(__name__)
            with safelog.buffered():
                for call in calls:
                    log.debug("step.done", **call)
                    log.metric("request.done", **call)
                if error:
                    log.error("request.failed")
        finally:
            safelog.shutdown()
        assert re.search(CANARY_RE, stream.getvalue()) is None
        for line in stream.getvalue().splitlines():
            record = json.loads(line)
            if "_aws" in record:
                assert_valid_emf(record)
                named = {m["Name"] for m in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
                assert all(type(record[n]) in (int, float) for n in named)
