"""
Cost of logging an exception: safelog's ``log.exception`` against structlog's
``format_exc_info`` and ``dict_tracebacks`` and Powertools'
``logger.exception``, side by side in one run, for a 3-frame and a 50-frame
traceback, every case writing to a null sink.

Rounds are interleaved (case A, B, C, D, then again) so machine noise hits
every case alike; the figure per case is the median over rounds, and each
ratio is the median of the per-round ratios.

    .venv/bin/python benchmarks/bench_errors.py           # default size
    .venv/bin/python benchmarks/bench_errors.py --quick   # a smoke run

Target (issue 3): safelog ``log.exception`` <= 0.5x structlog's
``format_exc_info`` (we render less: no source lines, no text).
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import sys
import time

from collections.abc import Callable
from typing import Any

import orjson
import structlog

import safelog


class NullText(io.TextIOBase):
    """A text stream that discards what it is given."""

    def write(self, s: str) -> int:
        return len(s)

    def flush(self) -> None:
        return None


def _structlog(exc_processor: Any) -> Any:
    return structlog.wrap_logger(
        structlog.ReturnLogger(),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            exc_processor,
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        context_class=dict,
    )


def _powertools() -> Any:
    from aws_lambda_powertools import Logger

    logger = Logger(service="bench-errors", logger_handler=logging.StreamHandler(NullText()))
    # Powertools' logger also propagates to the root (safelog's handler):
    # measured alone, as it runs when it is the only logging set up.
    logger._logger.propagate = False
    return logger


def _raise_at_depth(depth: int, customer_text: str) -> None:
    # depth frames of this function, plus the caller's: the traceback has
    # depth + 1 frames.
    if depth <= 1:
        raise KeyError(customer_text)
    _raise_at_depth(depth - 1, customer_text)


def _cases() -> dict[str, Callable[[], None]]:
    slog = safelog.get_logger("bench_errors")
    fmt = _structlog(structlog.processors.format_exc_info)
    dct = _structlog(structlog.processors.dict_tracebacks)
    pt = _powertools()

    def safelog_case() -> None:
        slog.exception("export_failed")

    def format_exc_info_case() -> None:
        fmt.exception("export_failed")

    def dict_tracebacks_case() -> None:
        dct.exception("export_failed")

    def powertools_case() -> None:
        pt.exception("export_failed")

    return {
        "safelog log.exception": safelog_case,
        "structlog format_exc_info": format_exc_info_case,
        "structlog dict_tracebacks": dict_tracebacks_case,
        "powertools logger.exception": powertools_case,
    }


def _time_inside_except(frames: int, fn: Callable[[], None], calls: int) -> float:
    """Seconds per call of *fn*, called while a *frames*-frame exception is handled."""
    try:
        _raise_at_depth(frames - 1, "Q3 roadmap for Zoë")
    except KeyError:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - start) / calls
    msg = "unreachable"
    raise AssertionError(msg)


def _check_safelog_records(fn: Callable[[], None]) -> None:
    """The measured call really renders an error record (not a no-op)."""
    from safelog._config import current_state

    lines: list[str] = []
    dispatcher = current_state().chain.dispatcher
    dispatcher.add_listener(lines.append)
    try:
        _time_inside_except(50, fn, 1)
    finally:
        dispatcher.remove_listener(lines.append)
    (line,) = lines
    error = orjson.loads(line)["error"]
    assert error["type"] == "KeyError", line
    assert len(error["frames"]) == 31, line  # 10 + {"omitted"} + 20
    assert "Zo" not in line, line


def run(rounds: int, calls: int) -> int:
    safelog.configure(service="bench-errors", console=False, hooks=False)
    try:
        cases = _cases()
        _check_safelog_records(cases["safelog log.exception"])
        baseline = "structlog format_exc_info"
        failed = False
        for frames in (3, 50):
            per_case: dict[str, list[float]] = {name: [] for name in cases}
            ratios: dict[str, list[float]] = {name: [] for name in cases}
            # Warm-up: caches (call-site literals, linecache) are filled once.
            for fn in cases.values():
                _time_inside_except(frames, fn, 5)
            for _ in range(rounds):
                this_round = {
                    name: _time_inside_except(frames, fn, calls) for name, fn in cases.items()
                }
                for name, t in this_round.items():
                    per_case[name].append(t)
                    ratios[name].append(t / this_round[baseline])
            print(f"\n{frames}-frame exception ({rounds} rounds x {calls} calls)")
            print(f"  {'case':32} {'us/call':>9} {'ratio vs format_exc_info':>26}")
            for name in cases:
                us = statistics.median(per_case[name]) * 1e6
                ratio = statistics.median(ratios[name])
                print(f"  {name:32} {us:9.1f} {ratio:25.2f}x")
            ratio = statistics.median(ratios["safelog log.exception"])
            verdict = "met" if ratio <= 0.5 else "NOT met"
            print(f"  target safelog <= 0.50x format_exc_info: {verdict} ({ratio:.2f}x)")
            failed = failed or ratio > 0.5
        return 1 if failed else 0
    finally:
        safelog.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true", help="a smoke run, not a measurement")
    args = parser.parse_args(argv)
    rounds, calls = (3, 20) if args.quick else (21, 200)
    return run(rounds, calls)


if __name__ == "__main__":
    sys.exit(main())
