"""
Soak: worker processes log at a steady rate for --minutes (default 10)
through safelog's default CloudWatch sink while faults cycle every minute:

- outage: moto stopped, then restarted with empty state (group and stream
  re-created by the sink); before each stop, what moto stored is counted;
- throttling: every PutLogEvents answered ThrottlingException;
- 5xx: every other PutLogEvents answered 503;
- slow responses: answers held back past the client's read timeout (the
  batch was stored, the answer lost: a resend may store it twice);
- stream deletion: every stream of the group deleted;
- SIGTERM of a worker (safelog's handler flushes; a new worker replaces it);
- fork: each worker forks a child that logs for a few seconds and exits.

Throttling and 5xx come from the validating layer over botocore
(tests/cw_validation.py, in each worker); outages and slow answers from a
TCP gate in front of moto (benchmarks/_faults.py).

Reported: emitted, delivered (distinct events stored), duplicates (stored
twice), counted drops, the identity delivered + counted drops = emitted
(per process and in total), possible duplicates counted by safelog, and
each worker's RSS sampled every half second against the bound the queue
limits imply. Not a timed test: run it by hand.

    .venv/bin/python benchmarks/soak.py [--minutes 10] [--workers 3] [--rate 300]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

from pathlib import Path
from typing import Any


HERE = Path(__file__).resolve().parent
CYCLE = 60.0
# Fault windows within each minute: (start s, end s, kind).
SCHEDULE = [
    (5.0, 15.0, "outage"),
    (18.0, 24.0, "throttling"),
    (27.0, 32.0, "5xx"),
    (35.0, 40.0, "slow"),
    (43.0, 45.0, "delete-streams"),
    (47.0, 49.0, "sigterm"),
    (52.0, 55.0, "fork"),
]
READ_TIMEOUT = 2.0
MAX_QUEUE_EVENTS = 50_000
MAX_QUEUE_BYTES = 16 * 1024 * 1024
# Per queued line beyond its UTF-8 bytes: the (ts, line, n) tuple, the str
# header and the deque slot, rounded up.
PER_EVENT_OVERHEAD = 200


def fault_at(start: float, kind: str) -> bool:
    """Whether *kind* is on now, in a run that started at *start* (time.time())."""
    t = (time.time() - start) % CYCLE
    return any(lo <= t < hi and k == kind for lo, hi, k in SCHEDULE)


# -- the worker ------------------------------------------------------------


def worker(
    endpoint: str, group: str, *, rate: float, end: float, start: float, out: Path
) -> None:
    import mmap

    sys.path.insert(0, str(HERE))
    from _faults import logs_client

    import safelog

    from cw_validation import error_response

    calls = [0]

    def inject(request: Any, **_kw: Any) -> Any:
        target = request.headers.get("X-Amz-Target", b"")
        if not (target.decode() if isinstance(target, bytes) else target).endswith("PutLogEvents"):
            return None
        calls[0] += 1
        if fault_at(start, "throttling"):
            return error_response(400, "ThrottlingException", "Rate exceeded")
        if fault_at(start, "5xx") and calls[0] % 2:
            return error_response(503, "ServiceUnavailableException", "unavailable")
        return None

    def client() -> Any:
        c = logs_client(endpoint, read_timeout=READ_TIMEOUT)
        c.meta.events.register("before-send.cloudwatch-logs", inject)
        return c

    cw = safelog.CloudWatch(
        log_group=group,
        client=client,
        max_queue_events=MAX_QUEUE_EVENTS,
        max_queue_bytes=MAX_QUEUE_BYTES,
    )
    safelog.configure(
        service="soak",
        console=False,  # safelog's own records go to stderr, collected by the driver
        fields={"n": safelog.Int()},
        cloudwatch=cw,
        shutdown_timeout=30,
    )
    log = safelog.get_logger("soak")

    def counter() -> Any:
        path = out / f"{os.getpid()}.count"
        path.write_bytes(b"\0" * 8)
        f = path.open("r+b")
        return mmap.mmap(f.fileno(), 8)

    emitted = counter()
    n = 0
    forked_this_cycle = False
    interval = 1 / rate
    next_at = time.monotonic()
    child = False
    child_end = 0.0
    while time.time() < (child_end if child else end):
        log.info("soak.event", n=n)
        n += 1
        emitted[:8] = n.to_bytes(8, "little")
        in_fork = fault_at(start, "fork")
        if in_fork and not forked_this_cycle and not child:
            forked_this_cycle = True
            if os.fork() == 0:
                child, child_end = True, time.time() + 3
                n = 0
                emitted = counter()
                continue
        if not in_fork:
            forked_this_cycle = False
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    if child:
        sys.exit(0)  # atexit flushes, as a gunicorn-style worker exit does
    sink = next(s for s in safelog._config.current_state().chain.dispatcher.sinks)
    safelog.shutdown()
    (out / f"{os.getpid()}.stats").write_text(json.dumps(sink.stats()))
    with contextlib.suppress(ChildProcessError):
        while True:
            os.wait()


# -- the driver ------------------------------------------------------------


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class Driver:
    def __init__(self, args: argparse.Namespace) -> None:
        sys.path.insert(0, str(HERE))
        from _faults import TcpGate

        from safelog._embedded import EmbeddedMoto

        self.args = args
        self.moto = EmbeddedMoto().start()
        self.gate = TcpGate(self.moto.port)
        self.group = f"/soak/{uuid.uuid4().hex[:8]}"
        self.out = Path(tempfile.mkdtemp(prefix="safelog-soak-"))
        self.start = time.time()
        self.end = self.start + args.minutes * 60
        self.workers: dict[int, subprocess.Popen[bytes]] = {}
        self.stored: list[tuple[int, int]] = []  # (pid, n) of every stored event
        self.rss: dict[int, list[int]] = {}
        self.faults_seen: dict[str, int] = {}

    def admin(self) -> Any:
        from _faults import logs_client

        return logs_client(self.moto.endpoint_url)

    def spawn(self) -> None:
        code = (
            f"import sys; sys.path.insert(0, {str(HERE)!r}); import soak; "
            f"soak.worker({self.gate.endpoint_url!r}, {self.group!r}, rate={self.args.rate}, "
            f"end={self.end}, start={self.start}, out=soak.Path({str(self.out)!r}))"
        )
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "soak", "AWS_SECRET_ACCESS_KEY": "soak"}
        stderr = (self.out / f"stderr-{uuid.uuid4().hex[:6]}.txt").open("wb")
        proc = subprocess.Popen([sys.executable, "-c", code], stderr=stderr, env=env)
        self.workers[proc.pid] = proc

    def snapshot(self) -> None:
        """Count what moto stored (it is about to lose it)."""
        with contextlib.suppress(Exception):
            client = self.admin()
            kwargs: dict[str, Any] = {"logGroupName": self.group}
            while True:
                page = client.filter_log_events(**kwargs)
                for e in page["events"]:
                    r = json.loads(e["message"])
                    if r.get("event") == "soak.event":
                        self.stored.append((r["pid"], r["n"]))
                if not page.get("nextToken"):
                    break
                kwargs["nextToken"] = page["nextToken"]

    def step(self, kind: str) -> None:
        self.faults_seen[kind] = self.faults_seen.get(kind, 0) + 1
        if kind == "outage":
            self.gate.close()  # nothing more arrives: the count below is final
            self.snapshot()
            self.moto.stop()
        elif kind == "slow":
            self.gate.delay = READ_TIMEOUT + 0.5
        elif kind == "delete-streams":
            # Deleting a stream deletes its events: count them first, with
            # nothing arriving meanwhile.
            self.gate.close()
            self.snapshot()
            with contextlib.suppress(Exception):
                client = self.admin()
                for stream in client.describe_log_streams(logGroupName=self.group)["logStreams"]:
                    client.delete_log_stream(
                        logGroupName=self.group, logStreamName=stream["logStreamName"]
                    )
            self.gate.open()
        elif kind == "sigterm":
            pid = next(iter(self.workers))
            self.workers.pop(pid).send_signal(signal.SIGTERM)
            self.spawn()

    def stop_fault(self, kind: str) -> None:
        if kind == "outage":
            self.moto.start()
            self.gate.open()
        elif kind == "slow":
            self.gate.delay = 0.0

    def run(self) -> dict[str, Any]:
        for _ in range(self.args.workers):
            self.spawn()
        # Driver-side faults, each fired once per cycle even when a slow
        # step (a snapshot) made the loop miss the start of its window.
        active: dict[str, int] = {}
        fired: set[tuple[int, str]] = set()
        while time.time() < self.end:
            elapsed = time.time() - self.start
            cycle, t = int(elapsed // CYCLE), elapsed % CYCLE
            for lo, hi, kind in SCHEDULE:
                if kind in ("throttling", "5xx"):
                    continue  # applied by the workers themselves
                if kind in active and (active[kind] != cycle or t >= hi):
                    del active[kind]
                    self.stop_fault(kind)
                if lo <= t and (cycle, kind) not in fired:
                    fired.add((cycle, kind))
                    active[kind] = cycle
                    self.step(kind)
            for pid in list(self.workers):
                kb = rss_kb(pid)
                if kb is not None:
                    self.rss.setdefault(pid, []).append(kb)
            time.sleep(0.5)
        for kind in active:
            self.stop_fault(kind)
        for proc in self.workers.values():
            proc.wait(120)
        self.snapshot()
        self.moto.stop()
        self.gate.stop()
        return self.account()

    def account(self) -> dict[str, Any]:
        emitted: dict[int, int] = {}
        for f in self.out.glob("*.count"):
            emitted[int(f.stem)] = int.from_bytes(f.read_bytes()[:8], "little")
        seen: dict[int, set[int]] = {}
        duplicates = 0
        for pid, n in self.stored:
            s = seen.setdefault(pid, set())
            duplicates += n in s
            s.add(n)
        for pid, ns in seen.items():
            # A SIGTERM may land between a log call and the counter update.
            emitted[pid] = max(emitted.get(pid, 0), max(ns) + 1)
        dropped: dict[int, int] = {}
        possible: dict[int, int] = {}
        for f in self.out.glob("stderr-*.txt"):
            for line in f.read_text(errors="replace").splitlines():
                with contextlib.suppress(ValueError):
                    r = json.loads(line)
                    if r.get("event") == "safelog.cloudwatch.loss":
                        pid = r["pid"]
                        dropped[pid] = max(dropped.get(pid, 0), r["cloudwatch_dropped"])
                        possible[pid] = max(
                            possible.get(pid, 0), r["cloudwatch_possible_duplicates"]
                        )
        for f in self.out.glob("*.stats"):
            stats = json.loads(f.read_text())
            pid = int(f.stem)
            dropped[pid] = max(dropped.get(pid, 0), stats["cloudwatch_dropped"])
            possible[pid] = max(possible.get(pid, 0), stats["cloudwatch_possible_duplicates"])
        bad = {
            pid: (e, len(seen.get(pid, ())), dropped.get(pid, 0))
            for pid, e in emitted.items()
            if len(seen.get(pid, ())) + dropped.get(pid, 0) != e
        }
        bound_kb = (MAX_QUEUE_BYTES + MAX_QUEUE_EVENTS * PER_EVENT_OVERHEAD) // 1024
        # Growth over each worker's RSS once warm (boto3 imported, shipping):
        # the highest of its samples from 1 to 4 s after it started.
        growth = {pid: max(s) - max(s[2:8]) for pid, s in self.rss.items() if len(s) > 2}
        return {
            "minutes": self.args.minutes,
            "workers": self.args.workers,
            "rate_per_worker": self.args.rate,
            "processes": len(emitted),
            "emitted": sum(emitted.values()),
            "delivered": sum(len(s) for s in seen.values()),
            "duplicates": duplicates,
            "possible_duplicates_counted": sum(possible.values()),
            "dropped_counted": sum(dropped.values()),
            "identity_holds": not bad,
            "identity_failures": bad,
            "faults": self.faults_seen,
            "rss_max_kb": max((max(s) for s in self.rss.values() if s), default=0),
            "rss_growth_max_kb": max(growth.values(), default=0),
            "rss_bound_kb": bound_kb,
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--rate", type=float, default=300.0, help="events/s per worker")
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "soak")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "soak")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    driver = Driver(args)
    try:
        result = driver.run()
    finally:
        driver.moto.stop()
        for proc in driver.workers.values():
            proc.kill()
    print(json.dumps(result, indent=2))
    e, d, c = result["emitted"], result["delivered"], result["dropped_counted"]
    print(f"\ndelivered {d:,} + counted drops {c:,} = {d + c:,}; emitted {e:,}")
    print(f"identity holds for every process: {result['identity_holds']}")
    print(
        f"RSS growth {result['rss_growth_max_kb']:,} kB (max RSS {result['rss_max_kb']:,} kB); "
        f"bound from the queue limits {result['rss_bound_kb']:,} kB"
    )
    sys.exit(0 if result["identity_holds"] else 1)


if __name__ == "__main__":
    main()
