"""
Real framework servers as subprocesses, for the integration tests.

Each server listens on 127.0.0.1 only, on a socket the test binds first
(port 0, so there is no race for a port), is read continuously (stdout and
stderr, line by line), and is always stopped: SIGTERM, then SIGKILL after a
hard timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


def listening_socket() -> socket.socket:
    """A TCP socket bound to 127.0.0.1 on a free port, listening, inheritable."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


def bound_port() -> int:
    """A free port on 127.0.0.1 (for servers that cannot take a socket)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFELOG_", "AWS_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(EXAMPLES), str(ROOT / "src")])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class Server:
    """A subprocess whose stdout and stderr are collected line by line."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str],
        cwd: Path | None = None,
        pass_fds: Sequence[int] = (),
    ) -> None:
        self.proc = subprocess.Popen(
            list(argv),
            env=env,
            cwd=str(cwd or ROOT),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            pass_fds=tuple(pass_fds),
            start_new_session=True,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._cond = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for t in self._readers:
            t.start()

    def _read(self, stream: Any, into: list[str]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                into.append(line)
                self._cond.notify_all()

    @property
    def text(self) -> str:
        with self._cond:
            return "\n".join(self.stdout + self.stderr)

    def records(self) -> list[dict[str, Any]]:
        """Every JSON record either stream carried (other lines are skipped)."""
        with self._cond:
            lines = self.stdout + self.stderr
        out = []
        for line in lines:
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out

    def non_json_lines(self) -> list[str]:
        with self._cond:
            lines = self.stdout + self.stderr
        return [ln for ln in lines if ln.strip() and not ln.startswith("{")]

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = START_TIMEOUT
    ) -> list[dict[str, Any]]:
        """Wait until *predicate* holds for the records so far; fail after *timeout*."""
        deadline = time.monotonic() + timeout
        while True:
            records = self.records()
            if predicate(records):
                return records
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the readers drain
                records = self.records()
                if predicate(records):
                    return records
                code = self.proc.returncode
                msg = f"server exited ({code}) before it was ready:\n{self.text[-4000:]}"
                raise AssertionError(msg)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                msg = f"timed out waiting for the server:\n{self.text[-4000:]}"
                raise AssertionError(msg)
            with self._cond:
                self._cond.wait(min(remaining, 0.2))

    def wait_for_event(self, event: str, timeout: float = START_TIMEOUT) -> None:
        self.wait_for(lambda rs: any(r.get("event") == event for r in rs), timeout)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop the server (whole process group); returns its exit code."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(STOP_TIMEOUT)
        for t in self._readers:
            t.join(STOP_TIMEOUT)
        return self.proc.returncode


def python() -> str:
    return sys.executable


def venv_bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)
