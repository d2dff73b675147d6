"""
`multiprocessing.Pool` workers and CloudWatch (issue 13): every record a
worker logs before the pool ends is stored in CloudWatch or counted in a
loss record, for each way a pool ends and each start method.

Each run is a program in a subprocess with a hard timeout, against the
session's moto server on 127.0.0.1. The workers log with ``send_interval``
60 s, so nothing ships before the pool ends: what arrives is what the exit
path (a worker's own exit, or SIGTERM from ``terminate()``) delivered. The
loss seen in the wild was intermittent (4 of about 157 runs): each case runs
several times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from safelog._embedded import EmbeddedMoto
from safelog.cloudwatch import LOSS_EVENT


ROOT = Path(__file__).resolve().parent.parent
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
#: Records each task logs; tasks per run; workers per pool.
N, TASKS, WORKERS = 400, 6, 3
#: How often each case runs (the loss it guards against was intermittent).
RUNS = 5

# The worker program. Its event names are literals in a file, as safelog
# trusts them (code run with ``python -c`` has none).
POOL_PROGRAM = """
import json, os, sys, multiprocessing as mp
import safelog

def configure(url, group):
    safelog.configure(
        service="pool",
        console=False,  # loss records still go to stderr
        cloudwatch=safelog.CloudWatch(
            log_group=group, endpoint_url=url, region="us-east-1", send_interval=60
        ),
        shutdown_timeout=20,
    )

def init(url, group, method):
    # A forked worker inherits the parent's configuration; a spawned or
    # forkserver worker configures safelog itself, as a service would.
    if method != "fork":
        configure(url, group)

def task(n):
    log = safelog.get_logger("pool.worker")
    for _ in range(n):
        log.info("pool.record")
    return os.getpid()

if __name__ == "__main__":
    url, group, n, method, ending = sys.argv[1:6]
    n = int(n)
    configure(url, group)
    safelog.get_logger("pool.parent").info("pool.parent.record")
    ctx = mp.get_context(method)
    kw = dict(processes=int(sys.argv[7]), initializer=init, initargs=(url, group, method))
    tasks = [n] * int(sys.argv[6])
    if ending == "with":
        with ctx.Pool(**kw) as pool:  # __exit__ calls terminate()
            pids = pool.map(task, tasks, chunksize=1)
    elif ending == "close":
        pool = ctx.Pool(**kw)
        pids = pool.map(task, tasks, chunksize=1)
        pool.close()
        pool.join()
    elif ending == "terminate":
        pool = ctx.Pool(**kw)
        pids = pool.map(task, tasks, chunksize=1)
        pool.terminate()
        pool.join()
    else:
        raise SystemExit(2)
    emitted = {}
    for pid in pids:
        emitted[pid] = emitted.get(pid, 0) + n
    print(json.dumps({"parent": os.getpid(), "emitted": emitted}), flush=True)
"""


@pytest.fixture
def server(safelog_moto: EmbeddedMoto) -> EmbeddedMoto:
    """The session's moto server, running (a fault test may have stopped it)."""
    safelog_moto.start()
    return safelog_moto


def _stored(url: str, group: str) -> list[dict[str, Any]]:
    import boto3

    client = boto3.session.Session(
        aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    ).client("logs", region_name="us-east-1", endpoint_url=url)
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"logGroupName": group}
    while True:
        page = client.filter_log_events(**kwargs)
        out.extend(json.loads(e["message"]) for e in page["events"])
        if not page.get("nextToken"):
            return out
        kwargs["nextToken"] = page["nextToken"]


def _drops_per_pid(stderr: str) -> dict[int, int]:
    """Each process's last reported loss total (a loss record carries the running total)."""
    drops: dict[int, int] = {}
    for line in stderr.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("event") == LOSS_EVENT:
            pid = int(record["pid"])
            drops[pid] = max(drops.get(pid, 0), int(record["cloudwatch_dropped"]))
    return drops


def _run_pool(
    program: Path, url: str, method: str, ending: str, timeout: float = 120
) -> dict[str, Any]:
    """Run the pool program once; return what each worker emitted, stored and reported lost."""
    group = f"/test/pool/{uuid.uuid4().hex[:12]}"
    proc = subprocess.run(
        [
            sys.executable,
            str(program),
            url,
            group,
            str(N),
            method,
            ending,
            str(TASKS),
            str(WORKERS),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **AWS_ENV},
        cwd=ROOT,
        check=False,
    )
    # The program's stderr holds loss records and, on failure, our own
    # assertion text: no content.
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    emitted = {int(pid): n for pid, n in summary["emitted"].items()}
    stored = Counter(int(r["pid"]) for r in _stored(url, group) if r.get("event") == "pool.record")
    drops = _drops_per_pid(proc.stderr)
    unexpected = [x for x in proc.stderr.splitlines() if x.strip() and not x.startswith('{"')]
    return {
        "emitted": emitted,
        "stored": dict(stored),
        "drops": {pid: drops.get(pid, 0) for pid in emitted},
        "unexpected_stderr_lines": len(unexpected),
    }


def _check_runs(program: Path, url: str, method: str, ending: str, runs: int) -> None:
    results = [_run_pool(program, url, method, ending) for _ in range(runs)]
    for result in results:
        emitted, stored, drops = result["emitted"], result["stored"], result["drops"]
        # Records come only from the workers that logged them, never twice.
        assert set(stored) <= set(emitted), results
        for pid, n in emitted.items():
            # The guarantee, per worker: stored + counted drops == emitted.
            assert stored.get(pid, 0) + drops[pid] == n, (pid, results)
        assert result["unexpected_stderr_lines"] == 0, results


@pytest.fixture
def program(tmp_path: Path) -> Path:
    path = tmp_path / "pool_program.py"
    path.write_text(POOL_PROGRAM)
    return path


class TestPoolWorkers:
    @pytest.mark.parametrize("ending", ["with", "close", "terminate"])
    def test_forked_workers_deliver_or_count_every_record(
        self, server: EmbeddedMoto, program: Path, ending: str
    ) -> None:
        """Forked pool workers' records are all stored or counted, however the pool ends."""
        _check_runs(program, server.endpoint_url, "fork", ending, RUNS)

    @pytest.mark.parametrize("method", ["spawn", "forkserver"])
    def test_with_pool_workers_of_other_start_methods_deliver_or_count(
        self, server: EmbeddedMoto, program: Path, method: str
    ) -> None:
        """Spawned and forkserver workers of ``with Pool`` store or count every record."""
        _check_runs(program, server.endpoint_url, method, "with", 3)
