"""
An embedded CloudWatch Logs for the demo and the tests: a real moto server,
in its own process, listening on 127.0.0.1 only.

A separate process keeps moto's own request logging out of the service's
logging, and lets tests stop and restart "CloudWatch" on the same port to
inject outages. Needs the ``moto[server]`` extra; imported only when used.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from types import TracebackType


__all__ = ["EmbeddedMoto"]

HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class EmbeddedMoto:
    """
    A moto server subprocess on ``127.0.0.1:<port>``.

    Use as a context manager, or call `start` and `stop`. `stop` followed by
    `start` brings it back on the same port with empty state.
    """

    def __init__(self, port: int | None = None, *, startup_timeout: float = 30.0) -> None:
        self.port = port or _free_port()
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> EmbeddedMoto:
        if self.running:
            return self
        env = dict(os.environ)
        # moto must never try to reach anything but itself.
        env.setdefault("AWS_ACCESS_KEY_ID", "testing")
        env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        self._proc = subprocess.Popen(  # noqa: S603 -- our own interpreter, fixed args
            [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                msg = "the moto server exited during startup (is moto[server] installed?)"
                raise RuntimeError(msg)
            try:
                with socket.create_connection((HOST, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        msg = "the moto server did not start in time"
        raise RuntimeError(msg)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> EmbeddedMoto:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
