"""
Fault injection shared by bench_ship.py and soak.py: a TCP gate in front of
the moto server (an outage that keeps moto's state), and the validating
layer from tests/cw_validation.py (throttling, 5xx, slow responses).
"""

from __future__ import annotations

import contextlib
import select
import socket
import sys
import threading
import time

from pathlib import Path
from typing import Any


sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from cw_validation import CloudWatchLimits


__all__ = ["CloudWatchLimits", "TcpGate", "logs_client"]


class TcpGate:
    """
    A TCP forwarder on 127.0.0.1 to *target_port*. `close` refuses new
    connections and cuts open ones (CloudWatch unreachable); `open` lets
    them through again. moto behind it keeps its state.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._listener.listen(64)
        self._open = threading.Event()
        self._open.set()
        #: Seconds each answer from upstream is held back (slow responses).
        self.delay = 0.0
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def open(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._open.clear()
        with self._lock:
            conns, self._conns = self._conns, set()
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()

    def stop(self) -> None:
        self._stop = True
        self.close()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                client.close()  # refused while the gate is closed
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns.update((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1.0)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is b and self.delay:
                        time.sleep(self.delay)
                    (b if s is a else a).sendall(data)
        except OSError:
            return
        finally:
            for s in (a, b):
                with self._lock:
                    self._conns.discard(s)
                with contextlib.suppress(OSError):
                    s.close()


def logs_client(
    endpoint: str,
    limits: CloudWatchLimits | None = None,
    *,
    one_try: bool = True,
    read_timeout: float = 60,
) -> Any:
    """
    A boto3 logs client; *one_try* as safelog's default client (it retries
    itself), else botocore's default retries (what watchtower users get).
    """
    import boto3

    from botocore.config import Config

    config = (
        Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=read_timeout)
        if one_try
        else None
    )
    client = boto3.session.Session().client(
        "logs", region_name="us-east-1", endpoint_url=endpoint, config=config
    )
    if limits is not None:
        limits.install(client)
    return client
