"""
Time ``safelog check`` against ``ruff check`` on the same tree, in one run.

The tree is the installed source of structlog, boto3 and botocore. Both tools
run as fresh processes (interpreter start-up included for safelog), with no
cache, best of ``--repeat`` runs. Target: safelog at most 10x ruff's time.

    .venv/bin/python benchmarks/bench_check.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import time

from pathlib import Path


TARGET_RATIO = 10.0


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        sys.exit(f"{name} is not installed")
    return Path(spec.origin).parent


def _time_once(cmd: list[str], ok_codes: tuple[int, ...]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok_codes:
        sys.exit(f"{cmd[0]} failed with exit code {proc.returncode}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    tree = [str(_package_dir(n)) for n in ("structlog", "boto3", "botocore")]
    files = [p for d in tree for p in Path(d).rglob("*.py")]
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        sys.exit("ruff is not installed")

    ruff_cmd = [ruff, "check", "--no-cache", "--isolated", "--exit-zero", "--quiet", *tree]
    check_cmd = [sys.executable, "-m", "safelog", "check", "--format", "json", *tree]
    # Interleave the two tools so machine load affects both alike.
    ruff_t = check_t = float("inf")
    for _ in range(args.repeat):
        ruff_t = min(ruff_t, _time_once(ruff_cmd, (0,)))
        check_t = min(check_t, _time_once(check_cmd, (0, 1)))

    ratio = check_t / ruff_t
    print(f"tree: structlog + boto3 + botocore: {len(files)} files, {lines} lines")
    print(f"ruff check     {ruff_t * 1000:8.1f} ms  (best of {args.repeat})")
    print(f"safelog check  {check_t * 1000:8.1f} ms  (best of {args.repeat})")
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"ratio          {ratio:8.2f}x  (target <= {TARGET_RATIO:.0f}x: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
