"""
Cost per log call: safelog's chain against structlog and Powertools, side by
side in one run.

Every case logs the same event -- an event name and six fields (two ints, a
float, two short strings and a 2 KB customer-text string) -- to a null sink.
Rounds are interleaved (case A, B, C, ... then again) so machine noise hits
every case alike; the figure per case is the median over rounds, and each
ratio is the median of the per-round ratios (both sides measured seconds
apart, so load on the machine cancels out).

    .venv/bin/python benchmarks/bench_chain.py            # default size
    .venv/bin/python benchmarks/bench_chain.py --quick    # a smoke run
    .venv/bin/python benchmarks/bench_chain.py --write-docs   # also docs/perf/

Targets (issue 2), as ratios in the same run:
  safelog structlog path       <= 1.0x structlog with orjson
  safelog structlog path       <= 0.25x Powertools Logger
  safelog stdlib path          <= 0.5x structlog through ProcessorFormatter
  safelog disabled-level call  <= 1.2x structlog's filtering bound logger
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import statistics
import sys
import time

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import structlog

import safelog


TEXT_2K = ("Quarterly roadmap – draft for Zoë's team. " * 60)[:2048]  # noqa: RUF001 -- real text
FIELDS: dict[str, Any] = {
    "page_count": 3,
    "attempt": 2,
    "duration_ms": 12.5,
    "status": "ok",
    "request_id": "req-8f14e45f",
    "body": TEXT_2K,
}


class NullText(io.TextIOBase):
    """A text stream that discards what it is given."""

    def write(self, s: str) -> int:
        return len(s)

    def flush(self) -> None:
        return None


class NullBytes(io.RawIOBase):
    def write(self, b: Any) -> int:
        return len(b)

    def flush(self) -> None:
        return None


def _structlog_plain() -> tuple[Any, Any]:
    log = structlog.wrap_logger(
        structlog.PrintLogger(NullText()),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    )
    return log, log


def _structlog_orjson() -> tuple[Any, Any]:
    log = structlog.wrap_logger(
        structlog.BytesLogger(NullBytes()),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    )
    return log, log


def _structlog_processor_formatter() -> tuple[Any, Any]:
    handler = logging.StreamHandler(NullText())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(processor=structlog.processors.JSONRenderer())
    )
    std = logging.getLogger("pf.bench")
    std.handlers = [handler]
    std.propagate = False
    std.setLevel(logging.INFO)
    log = structlog.wrap_logger(
        std,
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    return log, log


def _powertools() -> tuple[Any, Any]:
    from aws_lambda_powertools import Logger

    log = Logger(
        service="powertools-bench", level="INFO", logger_handler=logging.StreamHandler(NullText())
    )
    log._logger.propagate = False
    return log, log


def _configure_safelog() -> None:
    safelog.configure(
        service="bench",
        fields={
            "page_count": safelog.Int(min=0),
            "attempt": safelog.Int(min=0),
            "duration_ms": safelog.Float(),
            "status": safelog.Enum("ok", "failed"),
            "request_id": safelog.Id(),
        },
        console=NullText(),
        level="INFO",
    )


def cases() -> dict[str, tuple[Callable[[], None], Callable[[], None]]]:
    """name -> (enabled call, disabled-level call)."""
    _configure_safelog()
    # Made after configure(): safelog refuses to start beside handlers that
    # bypass it, and these baselines need their own.
    plain, _ = _structlog_plain()
    oj, _ = _structlog_orjson()
    pf, _ = _structlog_processor_formatter()
    pt, _ = _powertools()
    sl = safelog.get_logger("bench.safelog")
    std = logging.getLogger("svc.stdlib")
    f = FIELDS

    return {
        "safelog structlog path": (
            lambda: sl.info("page_exported", **f),
            lambda: sl.debug("page_exported", **f),
        ),
        "safelog stdlib path (%-args)": (
            lambda: std.info("page %s exported in %s ms", f["page_count"], f["duration_ms"]),
            lambda: std.debug("page %s exported in %s ms", f["page_count"], f["duration_ms"]),
        ),
        "structlog JSON chain": (
            lambda: plain.info("page_exported", **f),
            lambda: plain.debug("page_exported", **f),
        ),
        "structlog + orjson": (
            lambda: oj.info("page_exported", **f),
            lambda: oj.debug("page_exported", **f),
        ),
        "structlog ProcessorFormatter": (
            lambda: pf.info("page_exported", **f),
            lambda: pf.debug("page_exported", **f),
        ),
        "Powertools Logger": (
            lambda: pt.info("page_exported", extra=f),
            lambda: pt.debug("page_exported", extra=f),
        ),
    }


def _time(fn: Callable[[], None], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


# (target, numerator case, denominator case, enabled (0) or disabled (1), limit)
TARGETS = [
    ("safelog / structlog+orjson", "safelog structlog path", "structlog + orjson", 0, 1.0),
    ("safelog / Powertools", "safelog structlog path", "Powertools Logger", 0, 0.25),
    (
        "safelog stdlib / ProcessorFormatter",
        "safelog stdlib path (%-args)",
        "structlog ProcessorFormatter",
        0,
        0.5,
    ),
    (
        "safelog disabled / structlog filtering disabled",
        "safelog structlog path",
        "structlog + orjson",
        1,
        1.2,
    ),
]

Samples = dict[str, tuple[list[float], list[float]]]


def measure(rounds: int, n: int) -> Samples:
    table = cases()
    samples: Samples = {k: ([], []) for k in table}
    for fn_on, fn_off in table.values():  # warm caches and first-use paths
        _time(fn_on, 200)
        _time(fn_off, 200)
    for _ in range(rounds):
        for name, (fn_on, fn_off) in table.items():
            samples[name][0].append(_time(fn_on, n))
            samples[name][1].append(_time(fn_off, n * 5))
    safelog.shutdown()
    return samples


def medians(samples: Samples) -> dict[str, tuple[float, float]]:
    return {k: (statistics.median(on), statistics.median(off)) for k, (on, off) in samples.items()}


def ratios(samples: Samples) -> list[tuple[str, float, float]]:
    """(target, median of per-round ratios, limit)."""
    out = []
    for name, num, den, which, limit in TARGETS:
        per_round = [a / b for a, b in zip(samples[num][which], samples[den][which], strict=True)]
        out.append((name, statistics.median(per_round), limit))
    return out


def render(samples: Samples, rounds: int, n: int) -> str:
    res = medians(samples)
    lines = [
        (
            f"Per-call cost, median of {rounds} interleaved rounds of {n} calls "
            f"(Python {sys.version.split()[0]}):"
        ),
        "",
        "| case | enabled (µs/call) | disabled level (µs/call) |",
        "|---|---:|---:|",
    ]
    lines += [f"| {k} | {v[0]:.2f} | {v[1]:.3f} |" for k, v in res.items()]
    lines += ["", "| target | ratio | limit | met |", "|---|---:|---:|---|"]
    lines += [
        f"| {name} | {r:.2f}x | {lim:.2f}x | {'yes' if r <= lim else 'NO'} |"
        for name, r, lim in ratios(samples)
    ]
    return "\n".join(lines)


def write_docs(samples: Samples, text: str) -> None:
    res = medians(samples)
    docs = Path(__file__).resolve().parent.parent / "docs"
    out = docs / "perf"
    out.mkdir(parents=True, exist_ok=True)
    # The table goes into the page itself (docs read as files: no includes),
    # between its `generated` comments.
    page = docs / "performance.md"
    begin = "<!-- begin generated: benchmarks/bench_chain.py --write-docs -->\n"
    end = "<!-- end generated -->\n"
    head, _, rest = page.read_text(encoding="utf-8").partition(begin)
    _, _, tail = rest.partition(end)
    page.write_text(head + begin + text + "\n" + end + tail, encoding="utf-8")
    (out / "chain.json").write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    names = list(res)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.barh(names, [res[k][0] for k in names], color="#3b6ea5")
    ax.invert_yaxis()
    ax.set_xlabel("µs per log call (lower is better)")
    ax.set_title("Cost per enabled log call, same event, null sinks")
    fig.tight_layout()
    fig.savefig(out / "chain.png", dpi=110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("-n", type=int, default=2000, help="calls per case per round")
    ap.add_argument("--quick", action="store_true", help="3 rounds of 300 calls")
    ap.add_argument("--write-docs", action="store_true", help="write docs/perf/chain.*")
    args = ap.parse_args()
    rounds, n = (3, 300) if args.quick else (args.rounds, args.n)
    samples = measure(rounds, n)
    text = render(samples, rounds, n)
    print(text)
    if args.write_docs:
        write_docs(samples, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
