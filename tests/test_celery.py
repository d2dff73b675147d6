"""safelog.celery: examples/celery_service.py under a real prefork worker (filesystem broker)."""

from __future__ import annotations

import os
import signal
import sys

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safelog.testing import canary, find_leaks
from servers import EXAMPLES, Server, child_env, venv_bin


ARG_CANARY = canary("text")
EXC_CANARY = canary("account_id")


class Worker:
    def __init__(self, data: Path) -> None:
        self.env = child_env(CELERY_EXAMPLE_DIR=str(data))
        self.server = Server(
            [
                venv_bin("celery"),
                "-A",
                "celery_service",
                "--quiet",
                "worker",
                "--pool=prefork",
                "--concurrency=2",
                "--loglevel=INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            env=self.env,
            cwd=EXAMPLES,
        )


@pytest.fixture(scope="module")
def producer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The example's app module, imported here to send tasks to the same folders."""
    data = tmp_path_factory.mktemp("broker")
    os.environ["CELERY_EXAMPLE_DIR"] = str(data)
    sys.path.insert(0, str(EXAMPLES))
    try:
        import celery_service

        import safelog

        # Sending only: this process does not log through the example's setup.
        safelog.shutdown()
        yield celery_service, data
    finally:
        sys.path.remove(str(EXAMPLES))
        os.environ.pop("CELERY_EXAMPLE_DIR", None)


@pytest.fixture(scope="module")
def worker(producer: Any) -> Iterator[Worker]:
    _, data = producer
    w = Worker(data)
    try:
        w.server.wait_for(lambda rs: any(r.get("event") == "%s ready." for r in rs))
        yield w
    finally:
        w.server.stop()


def _finished(records: list[dict[str, Any]], task_id: str) -> list[dict[str, Any]]:
    return [r for r in records if r.get("event") == "task_finished" and r.get("task_id") == task_id]


def _wait_finished(w: Worker, task_id: str) -> dict[str, Any]:
    records = w.server.wait_for(lambda rs: bool(_finished(rs, task_id)), timeout=60)
    (found,) = _finished(records, task_id)
    return found


class TestWorker:
    def test_task_context_and_finished_record(self, producer: Any, worker: Worker) -> None:
        """Records inside a task carry its name and id; one task_finished record per run."""
        mod, _ = producer
        result = mod.read_item.delay(5, ARG_CANARY)
        done = _wait_finished(worker, result.id)
        assert done["task_name"] == "celery_service.read_item"
        assert done["task_state"] == "SUCCESS"
        assert done["retries"] == 0
        assert isinstance(done["runtime_ms"], float)
        inside = [
            r
            for r in worker.server.records()
            if r.get("task_id") == result.id and r["event"] in ("item_read", "item_read_stdlib")
        ]
        assert len(inside) == 2
        assert all(
            r["task_name"] == "celery_service.read_item" and r["item_id"] == 5 for r in inside
        )
        assert all(r["pid"] != worker.server.proc.pid for r in inside)  # a pool process

    def test_retry_then_success(self, producer: Any, worker: Worker) -> None:
        """A retried task: a RETRY run then a SUCCESS run, with the retry count."""
        mod, _ = producer
        result = mod.flaky.delay(6, ARG_CANARY)
        # The retried run may finish (in the other pool process) before the
        # first run's record is written: wait for both, order by retries.
        records = worker.server.wait_for(lambda rs: len(_finished(rs, result.id)) >= 2, timeout=60)
        runs = sorted(_finished(records, result.id), key=lambda r: r["retries"])
        assert [(r["task_state"], r["retries"]) for r in runs] == [("RETRY", 0), ("SUCCESS", 1)]

    def test_failure_is_type_only(self, producer: Any, worker: Worker) -> None:
        """A failing task: FAILURE with the exception's type, never its message."""
        mod, _ = producer
        result = mod.fail.delay(EXC_CANARY)
        done = _wait_finished(worker, result.id)
        assert done["task_state"] == "FAILURE"
        assert done["level"] == "error"
        assert done["error"]["type"] == "RuntimeError"

    def test_celery_lines_keep_their_templates(self, producer: Any, worker: Worker) -> None:
        """Celery's own task lines go through the chain with their templates, no arguments."""
        records = worker.server.records()
        received = [r for r in records if r.get("logger") == "celery.worker.strategy"]
        assert received
        assert all(r["event"] != "<non-constant-event>" for r in received)


def test_zz_no_canary_and_only_json(worker: Worker) -> None:
    """After a warm shutdown: no canary in any output; every line is a JSON record."""
    worker.server.stop(signal.SIGTERM)
    assert find_leaks(worker.server.text, ARG_CANARY, EXC_CANARY, sink="worker stdout/stderr") == []
    # Celery prints its shutdown notice itself (print(), out of any logger's reach).
    assert worker.server.non_json_lines() == ["worker: Warm shutdown (MainProcess)"]
    # Records outside any task carry no task context.
    assert not any(
        "task_id" in r for r in worker.server.records() if r.get("logger") == "celery.apps.worker"
    )
