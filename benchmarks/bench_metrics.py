"""
What metrics (EMF), debug buffering and sampling cost per log call, as
ratios against an ordinary record, side by side in one run.

Every round configures safelog twice -- once with the features off (the
baseline), once with them on -- and times each case in turn (configure and
shutdown are outside the timings), so machine noise hits every case alike.
Each figure is the median over rounds; each ratio is the median of the
per-round ratios.

    .venv/bin/python benchmarks/bench_metrics.py            # default size
    .venv/bin/python benchmarks/bench_metrics.py --quick    # a smoke run

Cases (all to a null console):
  ordinary (off)         info record, five declared fields, features off
  ordinary (on)          the same record with metrics, buffering and sampling on
  metric record          info record carrying two metrics and two dimensions (EMF)
  log.metric()           the same as a metric-only record
  held DEBUG             a DEBUG record held in an open scope's buffer
  sampled-out INFO       an INFO record of a sampled-out scope (dropped, counted)
  request scope          entering and leaving buffered() with nothing logged
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import safelog

from safelog import _scope


class NullText(io.TextIOBase):
    """A text stream that discards what it is given."""

    def write(self, s: str) -> int:
        return len(s)

    def flush(self) -> None:
        return None


FIELDS: dict[str, Any] = {
    "page_count": 3,
    "attempt": 2,
    "status": "ok",
    "request_id": "req-8f14e45f",
    "method": "GET",
}
METRIC_FIELDS: dict[str, Any] = {**FIELDS, "duration_ms": 12.5, "bytes_out": 2048}


def _policy(metrics: bool) -> dict[str, safelog.Kind]:
    return {
        "page_count": safelog.Int(min=0),
        "attempt": safelog.Int(min=0),
        "status": safelog.Enum("ok", "failed", dimension=metrics),
        "request_id": safelog.Id(),
        "method": safelog.HttpMethod(dimension=metrics),
        "duration_ms": safelog.Duration(metric=True if metrics else None),
        "bytes_out": safelog.Int(min=0, metric="Bytes" if metrics else None),
    }


@contextmanager
def configured(*, on: bool, sampling_rate: float = 1.0) -> Iterator[Any]:
    if on:
        safelog.configure(
            service="bench",
            environment="prod",
            fields=_policy(metrics=True),
            console=NullText(),
            level="INFO",
            metrics_namespace="Bench",
            buffer_level="DEBUG",
            sampling_rate=sampling_rate,
        )
    else:
        safelog.configure(
            service="bench",
            environment="prod",
            fields=_policy(metrics=False),
            console=NullText(),
            level="INFO",
        )
    try:
        yield safelog.get_logger("bench.metrics")
    finally:
        safelog.shutdown()


def _time(fn: Callable[[], None], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def _in_scope(fn: Callable[[], None], n: int) -> float:
    # One scope for the whole timing: its buffer is bounded, so after the
    # first few hundred records each held record also evicts the oldest.
    with safelog.buffered():
        return _time(fn, n)


def _scope_enter_exit() -> None:
    with safelog.buffered():
        pass


CASES = (
    "ordinary (off)",
    "ordinary (on)",
    "metric record",
    "log.metric()",
    "held DEBUG",
    "sampled-out INFO",
    "request scope",
)
RATIOS = [
    ("ordinary (on) / ordinary (off)", "ordinary (on)"),
    ("metric record / ordinary (off)", "metric record"),
    ("log.metric() / ordinary (off)", "log.metric()"),
    ("held DEBUG / ordinary (off)", "held DEBUG"),
    ("sampled-out INFO / ordinary (off)", "sampled-out INFO"),
    ("request scope / ordinary (off)", "request scope"),
]

Samples = dict[str, list[float]]


def one_round(samples: Samples, n: int) -> None:
    f, m = FIELDS, METRIC_FIELDS
    with configured(on=False) as log:
        samples["ordinary (off)"].append(_time(lambda: log.info("page_exported", **f), n))
    with configured(on=True) as log:
        samples["ordinary (on)"].append(_time(lambda: log.info("page_exported", **f), n))
        samples["metric record"].append(_time(lambda: log.info("page_exported", **m), n))
        samples["log.metric()"].append(_time(lambda: log.metric("page_exported", **m), n))
        samples["held DEBUG"].append(_in_scope(lambda: log.debug("page_exported", **f), n))
        samples["request scope"].append(_time(_scope_enter_exit, n))
    with configured(on=True, sampling_rate=0.0) as log:
        samples["sampled-out INFO"].append(_in_scope(lambda: log.info("page_exported", **f), n))


def measure(rounds: int, n: int) -> Samples:
    samples: Samples = {k: [] for k in CASES}
    one_round({k: [] for k in CASES}, 200)  # warm caches and first-use paths
    for _ in range(rounds):
        one_round(samples, n)
    return samples


def render(samples: Samples, rounds: int, n: int) -> str:
    lines = [
        (
            f"Per-call cost, median of {rounds} interleaved rounds of {n} calls "
            f"(Python {sys.version.split()[0]}; buffer {_scope.DEFAULT_MAX_BYTES} bytes):"
        ),
        "",
        "| case | µs/call |",
        "|---|---:|",
    ]
    lines += [f"| {k} | {statistics.median(v):.2f} |" for k, v in samples.items()]
    lines += ["", "| ratio (same round) | median |", "|---|---:|"]
    base = samples["ordinary (off)"]
    for name, case in RATIOS:
        per_round = [a / b for a, b in zip(samples[case], base, strict=True)]
        lines.append(f"| {name} | {statistics.median(per_round):.2f}x |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("-n", type=int, default=2000, help="calls per case per round")
    ap.add_argument("--quick", action="store_true", help="3 rounds of 300 calls")
    args = ap.parse_args()
    rounds, n = (3, 300) if args.quick else (args.rounds, args.n)
    samples = measure(rounds, n)
    print(render(samples, rounds, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
