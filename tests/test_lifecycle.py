"""
The whole life of a process (issue 13): before `configure`, at exit, in
forked children, in signal handlers and at the recursion limit.

Each test runs a small program in a subprocess with a hard timeout, plants
a canary the way the finding describes, and checks that it never reaches
stdout or stderr and that the record (or its count) arrives.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

from pathlib import Path
from typing import Any

import pytest


CANARY = "canary" + uuid.uuid4().hex
ROOT = Path(__file__).resolve().parent.parent

# A cloudwatch= factory whose sink is slow to flush and close, and writes
# what it got to a file: it stands in for a remote sink in the programs below.
SLOW_SINK = """
import json, os, threading, time, logging

class SlowSink:
    def __init__(self, path, delay):
        self.path, self.delay, self.lines, self.closed = path, delay, [], False
        self.lost = 0

    def write(self, line):
        if self.closed:
            self.lost += 1
            return
        self.lines.append(line)

    def flush(self, timeout=None):
        time.sleep(min(self.delay, timeout or self.delay))
        self._save()

    def close(self, timeout=None):
        self.flush(timeout)
        self.closed = True

    def _save(self):
        with open(self.path, "w") as fh:
            json.dump({"lines": self.lines, "lost": self.lost}, fh)

class SlowFactory:
    def __init__(self, path, delay):
        self.path, self.delay = path, delay

    def create_sink(self, metadata):
        return SlowSink(self.path, self.delay)
"""


def _run(
    code: str, *, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOG_")}
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(ROOT / "tests")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=ROOT,
        check=False,
    )


def _records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _assert_clean(proc: subprocess.CompletedProcess[str]) -> None:
    __tracebackhide__ = True
    assert CANARY not in proc.stdout, "canary on stdout"
    assert CANARY not in proc.stderr, "canary on stderr"


class TestAtExit:
    def test_atexit_callback_registered_before_configure_is_sanitized(self) -> None:
        """A record from an atexit callback run after the exit flush goes through the chain."""
        proc = _run(
            f"""
            import atexit, logging
            import safelog
            atexit.register(
                lambda: logging.getLogger("app.pool").warning("closing session for %s", {CANARY!r})
            )
            safelog.configure(service="svc")
            """
        )
        _assert_clean(proc)
        (record,) = [r for r in _records(proc.stderr) if r["event"] == "closing session for %s"]
        assert record["service"] == "svc"
        assert record["dropped"] == 1

    def test_finalizer_at_exit_reports_through_the_hook(self) -> None:
        """A __del__ raising while the interpreter exits is a metadata record, not a report."""
        proc = _run(
            f"""
            import safelog
            class Doc:
                def __del__(self):
                    raise RuntimeError("unsaved changes to {CANARY}")
            safelog.configure(service="svc")
            keep = Doc()
            """
        )
        _assert_clean(proc)
        assert "Exception ignored" not in proc.stderr
        events = [r["event"] for r in _records(proc.stderr)]
        assert "unraisable_exception" in events

    def test_daemon_thread_logging_during_the_exit_flush(self, tmp_path: Path) -> None:
        """A daemon thread that logs while a slow sink flushes at exit never writes raw text."""
        out = tmp_path / "sink.json"
        proc = _run(
            SLOW_SINK
            + f"""
import threading, logging
import safelog
safelog.configure(service="svc", cloudwatch=SlowFactory({str(out)!r}, 0.5))
started = threading.Event()
def spin():
    while True:
        logging.getLogger("app.fetch").warning("fetching %s", {CANARY!r})
        started.set()
        time.sleep(0.001)
threading.Thread(target=spin, daemon=True).start()
started.wait(5)
"""
        )
        _assert_clean(proc)
        assert proc.returncode == 0
        saved = json.loads(out.read_text())
        # Lines logged during the flush reached the sink (or were counted).
        assert len(saved["lines"]) + saved["lost"] > 1
        assert all(CANARY not in line for line in saved["lines"])

    def test_exit_flush_leaves_the_handlers_in_place(self) -> None:
        """At exit safelog flushes but never restores stdlib's lastResort or Python's hooks."""
        proc = _run(
            """
            import atexit, logging, sys
            import safelog
            from safelog.stdlib import SafelogHandler
            def last():
                print("handler", isinstance(logging.getLogger().handlers[0], SafelogHandler))
                print("hook", sys.excepthook.__module__)
            atexit.register(last)
            safelog.configure(service="svc")
            """
        )
        assert "handler True" in proc.stdout
        assert "hook safelog._hooks" in proc.stdout


class TestBeforeConfigure:
    def test_stdlib_record_at_import_time_goes_through_the_fallback(self) -> None:
        """A stdlib record before configure() (the lastResort path) is sanitized."""
        proc = _run(
            f"""
            import logging
            import safelog
            logging.getLogger("app.settings").warning("override from %s", {CANARY!r})
            """
        )
        _assert_clean(proc)
        (record,) = _records(proc.stderr)
        assert record["event"] == "override from %s"
        assert record["service"] == "unconfigured"

    def test_uncaught_exception_before_configure(self) -> None:
        """An exception escaping before configure() is a metadata record, not a traceback."""
        proc = _run(
            f"""
            import safelog
            raise RuntimeError("bad input {CANARY}")
            """
        )
        _assert_clean(proc)
        assert proc.returncode == 1
        (record,) = _records(proc.stderr)
        assert record["event"] == "uncaught_exception"
        assert record["error"]["type"] == "RuntimeError"

    def test_warning_before_configure(self) -> None:
        """A warning whose text is data, before configure(), shows no text."""
        proc = _run(
            f"""
            import sys, warnings
            import safelog
            # Built at runtime: a literal of the code would be a name of code.
            secret = "".join(reversed({CANARY[::-1]!r}))
            warnings.warn("deprecated for " + secret)
            """
        )
        _assert_clean(proc)
        assert [r["logger"] for r in _records(proc.stderr)] == ["py.warnings"]

    def test_hooks_a_service_set_before_import_are_left_alone(self) -> None:
        """Import replaces only Python's defaults: a hook set earlier stays."""
        proc = _run(
            """
            import sys
            def mine(*args): print("mine")
            sys.excepthook = mine
            import safelog
            print(sys.excepthook is mine)
            """
        )
        assert proc.stdout.splitlines()[0] == "True"


class TestFork:
    def test_children_forked_while_a_thread_logs_never_hang(self) -> None:
        """50 children forked while a thread logs all log and exit (no lock held for ever)."""
        proc = _run(
            """
            import os, sys, threading, time
            import safelog

            class SlowStream:
                # Python-level writes keep the sink's lock held for a while.
                def write(self, data):
                    for _ in range(200):
                        pass
                def flush(self):
                    pass

            safelog.configure(service="svc", console=SlowStream())
            log = safelog.get_logger("app")
            stop = threading.Event()
            def spin():
                while not stop.is_set():
                    log.info("tick")
            threading.Thread(target=spin, daemon=True).start()
            hung = 0
            for _ in range(50):
                pid = os.fork()
                if pid == 0:
                    log.info("child_started")
                    os._exit(0)
                deadline = time.monotonic() + 5
                while True:
                    done, _status = os.waitpid(pid, os.WNOHANG)
                    if done:
                        break
                    if time.monotonic() > deadline:
                        hung += 1
                        os.kill(pid, 9)
                        os.waitpid(pid, 0)
                        break
                    time.sleep(0.005)
            stop.set()
            print("hung", hung)
            """,
            timeout=300,
        )
        assert "hung 0" in proc.stdout, proc.stdout + proc.stderr[-2000:]

    def test_a_forked_child_logs_with_its_own_pid(self) -> None:
        """The child's records carry the child's pid, the parent's keep the parent's."""
        proc = _run(
            """
            import os
            import safelog
            safelog.configure(service="svc")
            pid = os.fork()
            if pid == 0:
                safelog.get_logger("app").info("in_child")
                os._exit(0)
            os.waitpid(pid, 0)
            safelog.get_logger("app").info("in_parent")
            print(os.getpid())
            """
        )
        by_event = {r["event"]: r for r in _records(proc.stderr)}
        assert by_event["in_parent"]["pid"] == int(proc.stdout.strip())
        assert by_event["in_child"]["pid"] != by_event["in_parent"]["pid"]


SIGNAL_PROGRAM = """
import os, signal, sys, threading, time
import safelog

class PyStream:
    # Python-level: a signal handler can run inside write().
    def __init__(self):
        self.parts = []
    def write(self, data):
        for _ in range(50):
            pass
        self.parts.append(data)
    def flush(self):
        pass

stream = PyStream()
safelog.configure(service="svc", console=stream)
log = safelog.get_logger("app")
handled = [0]
def handler(signum, frame):
    handled[0] += 1
    log.warning("signal_received")
signal.signal(signal.{sig}, handler)
stop = threading.Event()
{sender}
for i in range(3000):
    log.info("main_record")
stop.set()
signal.setitimer(signal.ITIMER_REAL, 0) if hasattr(signal, "setitimer") else None
time.sleep(0.05)
text = "".join(stream.parts)
lines = text.splitlines()
import json
events = [json.loads(line)["event"] for line in lines]
print("main", events.count("main_record"), "handled", handled[0],
      "signal_lines", events.count("signal_received"))
"""

SENDERS = {
    "SIGALRM": "signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)",
    "SIGUSR1": (
        "def send():\n"
        "    while not stop.is_set():\n"
        "        os.kill(os.getpid(), signal.SIGUSR1)\n"
        "        time.sleep(0.001)\n"
        "threading.Thread(target=send, daemon=True).start()"
    ),
    "SIGTERM": (
        "def send():\n"
        "    while not stop.is_set():\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "        time.sleep(0.001)\n"
        "threading.Thread(target=send, daemon=True).start()"
    ),
}


class TestSignals:
    @pytest.mark.parametrize("sig", sorted(SENDERS))
    def test_a_handler_that_logs_never_deadlocks(self, sig: str) -> None:
        """A handler logging every millisecond while the main thread logs: no hang, no torn line."""
        code = SIGNAL_PROGRAM.format(sig=sig, sender=SENDERS[sig])
        try:
            proc = _run(code, timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"a {sig} handler that logs deadlocked the process")
        assert proc.returncode == 0, proc.stderr[-2000:]
        fields = proc.stdout.split()
        main, handled, signal_lines = int(fields[1]), int(fields[3]), int(fields[5])
        assert main == 3000
        assert handled > 0
        # Every handler's record arrived whole (json.loads of every line passed).
        assert signal_lines == handled

    def test_sigterm_flushes_then_ends_by_sigterm(self, tmp_path: Path) -> None:
        """On SIGTERM every line logged before is flushed, then the process ends by SIGTERM."""
        out = tmp_path / "sink.json"
        code = (
            SLOW_SINK
            + f"""
import sys, time
import safelog
safelog.configure(service="svc", console=False, cloudwatch=SlowFactory({str(out)!r}, 0.2),
                  shutdown_timeout=5)
log = safelog.get_logger("app")
for i in range(100):
    log.info("before_sigterm")
print("ready", flush=True)
time.sleep(30)
"""
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOG_")}
        env["PYTHONPATH"] = str(ROOT / "tests")
        child = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
            started = time.monotonic()
            child.send_signal(signal.SIGTERM)
            rc = child.wait(timeout=20)
            elapsed = time.monotonic() - started
        finally:
            child.kill()
            child.wait()
        assert rc == -signal.SIGTERM
        assert elapsed < 5 + 2
        saved = json.loads(out.read_text())
        assert len(saved["lines"]) == 100

    def test_sigterm_inside_loggings_lock_still_delivers(self, tmp_path: Path) -> None:
        """SIGTERM landing while the main thread holds logging's lock: delivery still completes."""
        out = tmp_path / "delivered.txt"
        code = f"""
import logging, os, sys, threading, time
import safelog

class ThreadedSink:
    # Delivers on its own thread, which needs logging's module lock
    # (getLogger of a new name), like an SDK's transport does.
    def __init__(self):
        self.queue, self.sent, self.accepted = [], 0, 0
        self.cond = threading.Condition()
        threading.Thread(target=self._run, daemon=True).start()
    def write(self, line):
        with self.cond:
            self.queue.append(line)
            self.accepted += 1
            self.cond.notify_all()
    def _run(self):
        n = 0
        while True:
            with self.cond:
                while not self.queue:
                    self.cond.wait()
                batch, self.queue = self.queue[:100], self.queue[100:]
            n += 1
            logging.getLogger("transport.conn%d" % n)
            time.sleep(0.2)  # a round trip: SIGTERM lands with lines in flight
            with open({str(out)!r}, "a") as fh:
                fh.write("x\\n" * len(batch))
            with self.cond:
                self.sent += len(batch)
                self.cond.notify_all()
    def flush(self, timeout=None):
        deadline = time.monotonic() + (timeout or 5)
        with self.cond:
            target = self.accepted
            while self.sent < target:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self.cond.wait(left)
    def close(self, timeout=None):
        self.flush(timeout)

class Factory:
    def create_sink(self, metadata):
        return ThreadedSink()

safelog.configure(service="svc", console=False, cloudwatch=Factory(), shutdown_timeout=10)
log = safelog.get_logger("app")
for i in range(1000):
    log.info("queued")
print("ready", flush=True)
i = 0
while True:
    i += 1
    # Holds logging's module lock for most of the time.
    logging.getLogger("app.n%d" % i)
"""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOG_")}
        child = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
            child.send_signal(signal.SIGTERM)
            rc = child.wait(timeout=30)
        finally:
            child.kill()
            child.wait()
        assert rc == -signal.SIGTERM
        # 1000 lines at 100 per 0.2 s round trip: most were in flight at SIGTERM.
        assert out.read_text().count("x") == 1000

    def test_a_service_sigterm_handler_is_left_alone(self) -> None:
        """configure() never replaces a SIGTERM handler the service installed."""
        proc = _run(
            """
            import signal
            def mine(signum, frame): pass
            signal.signal(signal.SIGTERM, mine)
            import safelog
            safelog.configure(service="svc")
            print(signal.getsignal(signal.SIGTERM) is mine)
            """
        )
        assert proc.stdout.strip() == "True"


class TestRecursionLimit:
    def test_log_calls_near_the_limit_never_raise(self) -> None:
        """A call 1 to 8 frames below the recursion limit returns, and its record arrives."""
        proc = _run(
            """
            import json, sys
            import safelog
            safelog.configure(service="svc", fields={"depth": safelog.Int()})
            log = safelog.get_logger("app")

            def deepest(n=0):
                try:
                    return deepest(n + 1)
                except RecursionError:
                    return n

            def at(n, target, how):
                if n < target:
                    return at(n + 1, target, how)
                try:
                    if how == "plain":
                        log.error("deep_call", depth=7)
                    else:
                        try:
                            raise ValueError("inner")
                        except ValueError:
                            log.exception("deep_failure")
                    return "ok"
                except RecursionError:
                    return "raised"

            top = deepest()
            results = []
            for how in ("plain", "exc"):
                for k in range(1, 9):  # k frames left; with none, no call can start
                    results.append(at(0, top - k, how))
            print(json.dumps(results))
            print(sys.getrecursionlimit())
            print(json.dumps(safelog.stats()))
            """
        )
        results = json.loads(proc.stdout.splitlines()[0])
        assert results == ["ok"] * 16
        assert int(proc.stdout.splitlines()[1]) == 1000  # put back
        events = [r["event"] for r in _records(proc.stderr)]
        assert events.count("deep_call") == 8
        assert events.count("deep_failure") == 8
        deep = [r for r in _records(proc.stderr) if r["event"] == "deep_call"]
        # The call site is kept: its line (a -c program's names may be markers).
        assert [type(r["line"]) for r in deep] == [int] * 8

    def test_stdlib_call_near_the_limit_never_raises(self) -> None:
        """A stdlib call with room for logging's own frames but not safelog's still delivers."""
        proc = _run(
            """
            import json, logging
            import safelog
            safelog.configure(service="svc")

            def deepest(n=0):
                try:
                    return deepest(n + 1)
                except RecursionError:
                    return n

            def at(n, target):
                if n < target:
                    return at(n + 1, target)
                try:
                    logging.getLogger("app").error("deep_stdlib")
                    return "ok"
                except RecursionError:
                    return "raised"

            top = deepest()
            results = []
            for k in (10, 12, 14, 16, 20):
                results.append(at(0, top - k))
            print(json.dumps(results))
            """
        )
        assert json.loads(proc.stdout.splitlines()[0]) == ["ok"] * 5
        events = [r["event"] for r in _records(proc.stderr)]
        assert events.count("deep_stdlib") == 5


class TestMisuse:
    def test_the_cloudwatch_class_instead_of_an_instance(self) -> None:
        """cloudwatch=safelog.CloudWatch (the class) names the option and says: an instance."""
        import safelog

        with pytest.raises(safelog.ConfigurationError) as err:
            safelog.configure(service="svc", cloudwatch=safelog.CloudWatch)  # type: ignore[arg-type]
        message = str(err.value)
        assert message.startswith("cloudwatch:")
        assert "instance" in message
        assert not safelog.is_configured()
