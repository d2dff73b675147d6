"""The stdio guard: text on sys.stdout/sys.stderr becomes a metadata record."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import subprocess
import sys
import textwrap
import threading
import traceback

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import safelog

from safelog import _stdio
from safelog.policy import ConfigurationError
from safelog.testing import canary, find_leaks


TIMEOUT = 120


class Streams:
    """What reached the real stdout and stderr (pytest's capsys) during the test."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self._out = ""
        self._err = ""

    def _read(self) -> None:
        got = self.capsys.readouterr()
        self._out += got.out
        self._err += got.err

    @property
    def out(self) -> str:
        self._read()
        return self._out

    @property
    def text(self) -> str:
        self._read()
        return self._out + self._err

    def records(self) -> list[dict[str, Any]]:
        """The JSON lines that reached the real streams (safelog's console sink)."""
        out = []
        for line in self.text.splitlines():
            parsed = json.loads(line)
            assert type(parsed) is dict
            out.append(parsed)
        return out

    def guarded(self) -> list[dict[str, Any]]:
        return [r for r in self.records() if r["event"] == _stdio.EVENT]


@pytest.fixture
def streams(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Streams]:
    """What reaches the real streams; SAFELOG_* cleared."""
    for name in list(os.environ):
        if name.startswith("SAFELOG_"):
            monkeypatch.delenv(name)
    yield Streams(capsys)
    safelog.shutdown()


def guard() -> None:
    safelog.configure(service="svc", stdio="guard")


class TestOption:
    def test_off_by_default(self, streams: Streams) -> None:
        """Without stdio=, print() writes as usual."""
        safelog.configure(service="svc")
        print("plain")
        assert streams.out == "plain\n"

    def test_wrong_value_names_the_option(self, streams: Streams) -> None:
        """A wrong stdio= is a ConfigurationError naming the option, never the value."""
        with pytest.raises(ConfigurationError) as info:
            safelog.configure(service="svc", stdio="loud-secret")  # type: ignore[arg-type]
        assert "stdio" in str(info.value)
        assert "loud-secret" not in str(info.value)

    def test_from_the_environment(self, streams: Streams, monkeypatch: pytest.MonkeyPatch) -> None:
        """SAFELOG_STDIO=guard turns the guard on."""
        monkeypatch.setenv("SAFELOG_STDIO", "guard")
        safelog.configure(service="svc")
        print("x")
        assert len(streams.guarded()) == 1

    def test_shutdown_restores_the_streams(self, streams: Streams) -> None:
        """shutdown() puts the real streams back."""
        before = (sys.stdout, sys.stderr)
        guard()
        assert type(sys.stdout) is _stdio.GuardedStream
        assert type(sys.stderr) is _stdio.GuardedStream
        safelog.shutdown()
        assert (sys.stdout, sys.stderr) == before


class TestGuard:
    def test_print_becomes_a_record(self, streams: Streams) -> None:
        """print() of content becomes one record: stream, call site, length; never the text."""
        secret = canary("email")
        guard()
        print("exported for", secret)
        assert find_leaks(streams.text.splitlines(), secret) == []
        [record] = streams.guarded()
        assert record["stream"] == "stdout"
        assert record["module"] == __name__
        # Qualified from Python 3.11 on (co_qualname), the bare name before.
        assert record["function"].rsplit(".", 1)[-1] == "test_print_becomes_a_record"
        assert record["chars"] == len("exported for ") + len(secret) + 1
        assert record["lines"] == 1
        assert record["level"] == "warning"
        assert record["service"] == "svc"

    def test_print_exc_is_one_record(self, streams: Streams) -> None:
        """traceback.print_exc() is one record for the whole report, at its caller."""
        secret = canary("text")
        guard()
        try:
            int(secret)
        except ValueError:
            traceback.print_exc()
        sys.stderr.flush()
        assert find_leaks(streams.text.splitlines(), secret) == []
        [record] = streams.guarded()
        assert record["stream"] == "stderr"
        assert record["function"].rsplit(".", 1)[-1] == "test_print_exc_is_one_record"
        assert record["lines"] >= 4

    def test_counted_in_stats(self, streams: Streams) -> None:
        """safelog.stats() counts the guard's records (and has no stdio keys when it is off)."""
        guard()
        print("one")
        counters = safelog.stats()
        assert counters["stdio_records"] == 1
        assert counters["stdio_dropped"] == 0
        safelog.shutdown()
        safelog.configure(service="svc")
        assert "stdio_records" not in safelog.stats()

    def test_bytes_through_buffer(self, streams: Streams) -> None:
        """sys.stdout.buffer.write() is counted in bytes, never kept."""
        guard()
        sys.stdout.buffer.write("Zoë\n".encode())
        [record] = streams.guarded()
        assert record["bytes"] == 5

    def test_console_sink_writes_to_the_real_stream(self, streams: Streams) -> None:
        """safelog's own console lines are not guarded: they reach the real stderr."""
        guard()
        safelog.get_logger(__name__).info("page_exported")
        assert [r["event"] for r in streams.records()] == ["page_exported"]

    def test_write_returns_the_length(self, streams: Streams) -> None:
        """write() keeps the TextIO contract: it returns the number of characters."""
        guard()
        assert sys.stdout.write("abc") == 3
        with pytest.raises(TypeError):
            sys.stdout.write(b"abc")  # type: ignore[arg-type]

    def test_a_write_landing_inside_naming_is_nameless(self, streams: Streams) -> None:
        """A write interrupting the naming of a call site (a signal handler) never names again."""
        guard()
        _stdio._local.naming = True  # as while a handler interrupts _Burst()
        try:
            print("tick")
        finally:
            _stdio._local.naming = False
        records = streams.guarded()  # one per write: "tick", then "\n"
        assert {(r["module"], r["function"], r["line"]) for r in records} == {(None, None, None)}
        assert sum(r["chars"] for r in records) == 5

    def test_http_server_access_log(self, streams: Streams) -> None:
        """http.server's access log (a path with content) becomes a record of http.server."""
        secret = canary("url")
        guard()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(204)
                self.end_headers()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
            conn.set_debuglevel(1)  # http.client prints what it sends
            conn.request("GET", "/" + secret.split("/", 3)[3])
            conn.getresponse().read()
            conn.close()
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)
        assert find_leaks(streams.text.splitlines(), secret) == []
        modules = {r["module"] for r in streams.guarded()}
        assert "http.server" in modules
        assert "http.client" in modules


SCRIPT = textwrap.dedent(
    """
    import os
    import signal
    import sys
    import traceback

    import faulthandler

    import safelog

    # A hang shows where it is (fd 2, past the guard) instead of a bare timeout.
    faulthandler.dump_traceback_later(60, exit=True)
    secret = sys.argv[2]
    safelog.configure(service="svc", stdio="guard", console=sys.argv[1] == "console")
    if sys.argv[3] == "fork":
        import threading
        import time

        stop = threading.Event()

        def chatter():
            while not stop.is_set():
                print("busy", secret)

        thread = threading.Thread(target=chatter)
        thread.start()
        for _ in range(20):
            pid = os.fork()
            if pid == 0:
                print("child", secret)
                sys.stdout.flush()
                os._exit(0)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                time.sleep(0.01)
            else:
                os.kill(pid, 9)
                os.write(2, b"child hung\\n")
        stop.set()
        thread.join()
    elif sys.argv[3] == "forkpending":
        try:
            int(secret)
        except ValueError:
            traceback.print_exc()  # a burst still open when the process forks
        pid = os.fork()
        if pid == 0:
            sys.stderr.flush()
            os._exit(0)
        os.waitpid(pid, 0)
    elif sys.argv[3] in ("signals", "fastsignals"):
        def handler(signum, frame):
            print("tick", secret)

        interval = 0.001
        signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, interval, interval)
        # A few hundred ticks land while main is inside the guard (machine
        # load only makes the run slower, never a hang).
        for _ in range(5000):
            print("tock", secret)
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        os.write(2, b"survived\\n")
    else:
        try:
            raise RuntimeError(secret)
        except RuntimeError:
            traceback.print_exc()
    """
)


# Naming a call site on a cold cache reads and compiles the module's source:
# with this much source that takes longer than a 1 ms timer's interval, so
# every handler lands inside the naming its predecessor started.
FILLER = "".join(f"\n\ndef filler_{i}():\n    return {i}\n" for i in range(5000))


def run_script(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], str]:
    script = tmp_path / "main.py"
    script.write_text(SCRIPT + (FILLER if args[1] == "fastsignals" else ""))
    secret = canary("email")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOG_")}
    proc = subprocess.run(
        [sys.executable, str(script), args[0], secret, args[1]],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        check=False,
    )
    return proc, secret


class TestProcess:
    def test_last_output_is_drained_at_exit(self, tmp_path: Path) -> None:
        """A traceback printed as the last thing the process does still becomes its record."""
        proc, secret = run_script(tmp_path, "console", "exit")
        assert proc.returncode == 0
        assert find_leaks(proc.stderr.splitlines(), secret) == []
        events = [json.loads(line)["event"] for line in proc.stderr.splitlines()]
        assert events == [_stdio.EVENT]

    def test_forked_children_inherit_the_guard(self, tmp_path: Path) -> None:
        """20 forks while a thread prints: every child's print is a record, none hangs."""
        proc, secret = run_script(tmp_path, "console", "fork")
        assert proc.returncode == 0
        assert "child hung" not in proc.stderr
        assert find_leaks((proc.stdout + proc.stderr).splitlines(), secret) == []
        records = [json.loads(line) for line in proc.stderr.splitlines()]
        pids = {r["pid"] for r in records if r["event"] == _stdio.EVENT}
        assert len(pids) == 21  # the script itself and each of its 20 children

    def test_a_burst_open_at_fork_is_reported_once(self, tmp_path: Path) -> None:
        """A traceback burst still open at fork is the parent's record only, not the child's too."""
        proc, secret = run_script(tmp_path, "console", "forkpending")
        assert proc.returncode == 0
        assert find_leaks(proc.stderr.splitlines(), secret) == []
        records = [json.loads(line) for line in proc.stderr.splitlines()]
        # (3.12+ also warns that fork() in a threaded process may deadlock.)
        guarded = [r for r in records if r["event"] == _stdio.EVENT]
        assert len(guarded) == 1

    def test_handlers_landing_inside_naming_never_nest_for_ever(self, tmp_path: Path) -> None:
        """A handler landing while its own call site is being named never nests for ever."""
        proc, secret = run_script(tmp_path, "quiet", "fastsignals")
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert "survived" in proc.stderr
        assert find_leaks((proc.stdout + proc.stderr).splitlines(), secret) == []

    def test_print_in_a_signal_handler_never_deadlocks(self, tmp_path: Path) -> None:
        """print() from a SIGALRM handler every millisecond while main prints: no hang (no lock)."""
        proc, secret = run_script(tmp_path, "quiet", "signals")
        # On a hang, faulthandler's dump of the stacks (names of code only).
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert "survived" in proc.stderr
        assert find_leaks((proc.stdout + proc.stderr).splitlines(), secret) == []
