"""Every example the docs show runs, and its logs hold metadata only."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# Examples another test module runs (with checks specific to them).
RUN_ELSEWHERE = {
    "quickstart.py": "the README demo; issue 4's tests run it",
    "errors_demo.py": "docs/errors.md's example; tests/test_tracebacks.py runs it",
    "fastapi_service.py": "served by a real uvicorn in tests/test_asgi.py",
    "flask_service.py": "served by a real gunicorn in tests/test_wsgi.py",
    "celery_service.py": "run by a real prefork worker in tests/test_celery.py",
    "lambda_handler.py": "invoked as the Lambda runtime does in tests/test_aws_lambda.py",
}

Records = list[dict[str, Any]]


def _run(script: Path) -> tuple[subprocess.CompletedProcess[str], Records]:
    env = dict(os.environ)
    env.pop("SAFELOG_HASH_KEY", None)
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env=env,
        check=False,
    )
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return proc, records


def _events(records: Records, event: str) -> Records:
    found = [r for r in records if r.get("event") == event]
    assert found, f"no {event!r} record"
    return found


def _check_web_service(records: Records) -> None:
    finished = _events(records, "request_finished")
    assert sorted(r["status"] for r in finished) == [200, 200, 400, 500]
    assert {r["route"] for r in finished} == {"/pages/<int:page_id>", "/pages/<int:page_id>/export"}
    (rejected,) = _events(records, "export_rejected")
    assert rejected["error"]["type"] == "ValueError"
    assert rejected["outcome"] == "rejected"
    # Flask's own error log: through the chain, with markers.
    (flask_error,) = [r for r in records if r.get("module") == "flask.app"]
    assert flask_error["event"] == "<non-constant-event>"
    assert flask_error["error"]["type"] == "KeyError"
    # Request context arrived on every request record, the tenant pseudonymised.
    for r in records:
        assert r["request_id"] == "req-0001"
        key_id, _, digest = r["tenant"].partition(":")
        assert key_id.startswith("k")
        assert len(digest) == 26


def _check_worker(records: Records) -> None:
    done = _events(records, "job_done")
    failed = _events(records, "job_failed")
    assert len(done) == 3
    assert len(failed) == 2
    assert {r["error"]["type"] for r in failed} == {"__main__.RenderError"}
    assert {r["attempt"] for r in done} == {1, 2}
    rendering = _events(records, "rendering %s for %s")
    assert len(rendering) == 5
    assert all(r["dropped"] == 2 and r["logger"] == "worker.renderer" for r in rendering)
    assert all(r["queue"] == "exports" and len(r["job_id"]) == 36 for r in done + failed)


def _check_field_kinds(records: Records) -> None:
    (accepted,) = _events(records, "accepted")
    (rejected,) = _events(records, "rejected")
    tenant = accepted.pop("tenant")
    assert tenant.startswith("k")
    assert len(tenant.partition(":")[2]) == 26
    assert {k: accepted[k] for k in KINDS_ACCEPTED} == KINDS_ACCEPTED
    markers = {k: v for k, v in rejected.items() if k not in _BUILTIN}
    assert markers == {
        "page_count": "<rejected:int>",
        "ratio": "<rejected:float>",
        "took": "<rejected:duration>",
        "cached": "<rejected:bool>",
        "outcome": "<rejected:enum>",
        "plan": "<rejected:enum>",
        "request_id": "<rejected:id>",
        "order_no": "<rejected:id>",
        "job_id": "<rejected:uuid>",
        "tenant": "<rejected:hashed>",
        "status": "<rejected:http_status>",
        "method": "<rejected:http_method>",
        "route": "<rejected:route>",
    }


_BUILTIN = {"timestamp", "level", "logger", "event", "module", "function", "line"}
_BUILTIN |= {"service", "host", "pid"}
KINDS_ACCEPTED = {
    "page_count": 12,
    "ratio": 0.25,
    "took": 1500.0,
    "cached": True,
    "outcome": "failed",
    "plan": "team",
    "request_id": "req-8f14e45f",
    "order_no": "ord-004711",
    "job_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "status": 404,
    "method": "POST",
    "route": "/pages/{page_id}",
}


def _check_nothing_logged(records: Records) -> None:
    # configure() made no network call and nothing was logged.
    assert records == []


def _check_stdlib_capture(records: Records) -> None:
    by_line = [(r["logger"], r["event"], r.get("dropped")) for r in records]
    assert by_line == [
        ("safelog", "stdlib_handlers_taken_over", None),
        ("vendor.http", "GET %s", 1),
        ("vendor.http", "response body: %s", 2),
        ("vendor.http", "<non-constant-event>", None),
        ("<runtime-logger-name>", "quota exceeded", None),
        ("__main__", "parse_failed", None),
    ]
    # "vendor.http" is a literal of the script: a name of code, shown.
    assert records[0]["handlers_taken_over"] == ["logging.StreamHandler on vendor.http"]
    assert [r["level"] for r in records] == ["info", "debug", "info", "warning", "error", "error"]
    assert records[-1]["error"]["type"] == "ValueError"


def _check_migrating(records: Records) -> None:
    # It prints counts, not records: the "before" logs hold planted content.
    assert records == []


#: Per example: the customer content it plants, and what its records must show.


def _check_metrics(records: Records) -> None:
    # The console is off: the records are the ones read back, printed as lines.
    finished = _events(records, "export.finished")
    assert len(finished) == 2
    for r in finished:
        (directive,) = r["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Exporter"
        assert {m["Name"] for m in directive["Metrics"]} == {"duration_ms", "pages"}
        assert "export_id" not in json.dumps(r["_aws"])
    held = [r for r in records if r.get("buffered")]
    assert [r["export_id"] for r in held] == ["exp-2", "exp-2"]


EXPECTED: dict[str, tuple[tuple[str, ...], Callable[[Records], None], tuple[str, ...]]] = {
    "field_kinds.py": (
        ("12 pages", "customer's note", "zoe@example.com", "/pages/42"),
        _check_field_kinds,
        ("every bad value replaced by its marker: yes",),
    ),
    "migrating.py": (
        ("salary review", "acme-corp-customer-4711", "three copies"),
        _check_migrating,
        # docs/migrating.md shows these lines.
        (
            "structlog: before 3 of 3 planted values in the logs; after 0 (3 records)",
            "powertools: before 3 of 3 planted values in the logs; after 0 (2 records)",
            "watchtower: before 3 of 3 planted values in the logs; after 0 (2 records)",
        ),
    ),
    "stdlib_capture.py": (
        ("api.example.com", "zoe", "delete my account", "comment"),
        _check_stdlib_capture,
        ("planted customer content in the logs: none",),
    ),
    "cloudwatch_operations.py": (
        (),
        _check_nothing_logged,
        # docs/operations.md: the loss counters exist, all zero, offline.
        ("cloudwatch_dropped_overflow = 0",),
    ),
    "web_service.py": (
        ("salary review", "acme-corp-customer-4711", "three"),
        _check_web_service,
        # Read back from the embedded CloudWatch, not from the console.
        ("What CloudWatch stored:", "planted customer content in the logs: none"),
    ),
    "metrics.py": (
        ("Zoë Ünal", "Merger memo"),
        _check_metrics,
        ("What CloudWatch stored:", "planted customer content in the logs: none"),
    ),
    "worker.py": (
        ("Board minutes", "Ødegaard", "layoffs", "offer letter", "zoe.customer@example.com"),
        _check_worker,
        ("What CloudWatch stored:", "planted customer content in the logs: none"),
    ),
}

SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if p.name not in RUN_ELSEWHERE)


class TestExamples:
    def test_every_example_has_expectations(self) -> None:
        """No example script runs unchecked: each has planted content and record checks."""
        assert set(SCRIPTS) == set(EXPECTED)

    def test_examples_run_elsewhere_are_run(self) -> None:
        """An example left to another test module is named by one."""
        others = "".join(
            p.read_text(encoding="utf-8")
            for p in (ROOT / "tests").glob("test_*.py")
            if p.name != Path(__file__).name
        )
        for name in RUN_ELSEWHERE:
            if (EXAMPLES / name).exists():
                assert name in others, f"no test runs examples/{name}"

    @pytest.mark.parametrize("name", sorted(EXPECTED))
    def test_example_runs_and_logs_metadata_only(self, name: str) -> None:
        """The example exits 0, logs the metadata it should and none of its planted content."""
        planted, check, must_print = EXPECTED[name]

        proc, records = _run(EXAMPLES / name)

        assert proc.returncode == 0, proc.stderr[-2000:]
        for text in must_print:
            assert text in proc.stdout
        for text in planted:
            # Planted texts are synthetic, so naming them here is allowed.
            assert text not in proc.stdout, f"{name}: planted {text!r} reached the output"
            assert text not in proc.stderr, f"{name}: planted {text!r} reached stderr"
        check(records)
