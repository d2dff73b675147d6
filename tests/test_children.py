"""multiprocessing children: an escaping exception is a record, never CPython's raw report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from pathlib import Path
from typing import Any

import pytest

from safelog.testing import canary, find_leaks


METHODS = ("fork", "spawn", "forkserver")
TIMEOUT = 120

SCRIPT = textwrap.dedent(
    """
    import multiprocessing
    import sys
    import time

    import safelog


    def boom(secret):
        raise RuntimeError("export failed for " + secret)


    def leave(secret):
        sys.exit("bye " + secret)


    def leave_with_code(secret):
        sys.exit(3)


    def fail_init(secret):
        raise ValueError("no session for " + secret)


    class Worker(multiprocessing.Process):
        def __init__(self, secret, **kwargs):
            super().__init__(**kwargs)
            self.secret = secret

        def run(self):
            raise KeyError(self.secret)


    if __name__ == "__main__":
        method, what, secret, name, hooks = sys.argv[1:6]
        safelog.configure(service="children", hooks=hooks == "on")
        ctx = multiprocessing.get_context(method)
        if what == "pool":
            pool = ctx.Pool(1, initializer=fail_init, initargs=(secret,))
            # The worker dies in its initializer (and is replaced, again and
            # again): wait until the first one has exited, then stop the pool.
            # (The pool may be between a dead worker and its replacement.)
            first = None
            deadline = time.monotonic() + 60
            while first is None and time.monotonic() < deadline:
                workers = list(pool._pool)
                if workers:
                    first = workers[0]
                else:
                    time.sleep(0.01)
            first.join(60)
            pool.terminate()
            pool.join()
            print(json.dumps({"first_worker_exitcode": first.exitcode}), file=sys.stderr)
        else:
            if what == "subclass":
                multiprocessing.set_start_method(method)
                p = Worker(secret, name=name)
            else:
                target = {"raise": boom, "exit": leave, "exitcode": leave_with_code}[what]
                p = ctx.Process(target=target, args=(secret,), name=name)
            p.start()
            p.join(60)
            print(json.dumps({"exitcode": p.exitcode}), file=sys.stderr)
    """
).replace("import sys\n", "import json\nimport sys\n", 1)


def run(tmp_path: Path, method: str, what: str, *, hooks: str = "on") -> tuple[Any, str, str]:
    script = tmp_path / "main.py"
    script.write_text(SCRIPT)
    secret = canary("email")
    name = canary("text")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOG_")}
    proc = subprocess.run(
        [sys.executable, str(script), method, what, secret, name, hooks],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.returncode
    return proc, secret, name


def records(stderr: str) -> list[dict[str, Any]]:
    out = []
    for line in stderr.splitlines():
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if type(parsed) is dict:
            out.append(parsed)
    return out


@pytest.mark.parametrize("method", METHODS)
class TestProcess:
    def test_exception_is_a_record(self, tmp_path: Path, method: str) -> None:
        """A child's exception becomes one metadata record; neither message nor name is printed."""
        proc, secret, name = run(tmp_path, method, "raise")
        output = proc.stdout + proc.stderr
        assert find_leaks(output.splitlines(), secret, name) == []
        assert "Traceback" not in proc.stderr
        reports = [r for r in records(proc.stderr) if r.get("event") == "child_process_exception"]
        assert len(reports) == 1
        report = reports[0]
        assert report["logger"] == "multiprocessing"
        assert report["level"] == "error"
        assert report["error"]["type"] == "RuntimeError"
        assert any(f.get("function") == "boom" for f in report["error"]["frames"])
        assert {"exitcode": 1} in records(proc.stderr)

    def test_process_subclass(self, tmp_path: Path, method: str) -> None:
        """A Process subclass overriding run() is covered too."""
        proc, secret, name = run(tmp_path, method, "subclass")
        assert find_leaks((proc.stdout + proc.stderr).splitlines(), secret, name) == []
        reports = [r for r in records(proc.stderr) if r.get("event") == "child_process_exception"]
        assert [r["error"]["type"] for r in reports] == ["KeyError"]
        assert {"exitcode": 1} in records(proc.stderr)

    def test_exit_with_text_is_a_record(self, tmp_path: Path, method: str) -> None:
        """sys.exit(text) in a child reports SystemExit, exits 1, and never prints the text."""
        proc, secret, name = run(tmp_path, method, "exit")
        assert find_leaks((proc.stdout + proc.stderr).splitlines(), secret, name) == []
        reports = [r for r in records(proc.stderr) if r.get("event") == "child_process_exception"]
        assert [r["error"]["type"] for r in reports] == ["SystemExit"]
        assert {"exitcode": 1} in records(proc.stderr)

    def test_exit_code_passes_through(self, tmp_path: Path, method: str) -> None:
        """sys.exit(3) stays an ordinary exit: code 3, no record."""
        proc, _, _ = run(tmp_path, method, "exitcode")
        assert {"exitcode": 3} in records(proc.stderr)
        assert not [r for r in records(proc.stderr) if r.get("event") == "child_process_exception"]

    def test_pool_worker_initializer(self, tmp_path: Path, method: str) -> None:
        """A Pool worker dying in its initializer is reported as a record, never printed."""
        proc, secret, name = run(tmp_path, method, "pool")
        assert find_leaks((proc.stdout + proc.stderr).splitlines(), secret, name) == []
        reports = [r for r in records(proc.stderr) if r.get("event") == "child_process_exception"]
        assert reports
        assert {r["error"]["type"] for r in reports} == {"ValueError"}
        assert {"first_worker_exitcode": 1} in records(proc.stderr)

    def test_hooks_off_leaves_cpython_report(self, tmp_path: Path, method: str) -> None:
        """With hooks=False, CPython prints its report: the check above can fail."""
        proc, secret, name = run(tmp_path, method, "raise", hooks="off")
        leaks = find_leaks((proc.stdout + proc.stderr).splitlines(), secret, name)
        assert {leak.canary for leak in leaks} == {secret, name}
