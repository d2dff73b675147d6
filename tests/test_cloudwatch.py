"""
Shipping to CloudWatch Logs: every guarantee against a real moto server on
127.0.0.1, behind a layer that enforces CloudWatch's batch limits and injects
faults (tests/cw_validation.py).
"""

from __future__ import annotations

import io
import json
import logging
import logging.config
import os
import select
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
import warnings

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import safelog

from cw_validation import CloudWatchLimits
from safelog import _config
from safelog import cloudwatch as _shipper
from safelog._embedded import EmbeddedMoto
from safelog.cloudwatch import _limits
from safelog.cloudwatch import _sink as _sink_module


ROOT = Path(__file__).resolve().parent.parent
CANARY = "CANARY-7f3a-customer-secret-title"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module", autouse=True)
def _aws_env() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in AWS_ENV}
    os.environ.update(AWS_ENV)
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def server(safelog_moto: EmbeddedMoto) -> EmbeddedMoto:
    """The session's moto server, running (a fault test may have stopped it)."""
    safelog_moto.start()
    return safelog_moto


@pytest.fixture
def limits() -> Iterator[CloudWatchLimits]:
    checker = CloudWatchLimits()
    yield checker
    checker.release()
    assert checker.violations == [], "a batch broke CloudWatch's limits"


def _client(endpoint: str, limits: CloudWatchLimits | None = None) -> Any:
    import boto3

    from botocore.config import Config

    client = boto3.session.Session().client(
        "logs",
        region_name="us-east-1",
        endpoint_url=endpoint,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=30),
    )
    if limits is not None:
        limits.install(client)
    return client


def _group() -> str:
    return f"/test/{uuid.uuid4().hex[:12]}"


def _cw(server: EmbeddedMoto, limits: CloudWatchLimits, **kw: Any) -> safelog.CloudWatch:
    endpoint = server.endpoint_url
    kw.setdefault("log_group", _group())
    return safelog.CloudWatch(client=lambda: _client(endpoint, limits), **kw)


def _sink() -> Any:
    return next(
        s
        for s in _config.current_state().chain.dispatcher.sinks
        if isinstance(s, _shipper.CloudWatchSink)
    )


def _events(lines: list[str], event: str) -> list[dict[str, Any]]:
    records = [json.loads(x) for x in lines]
    return [r for r in records if r.get("event") == event]


def _losses(lines: list[str]) -> list[dict[str, Any]]:
    return _events(lines, _shipper.LOSS_EVENT)


class TestCloudWatchOptions:
    @pytest.mark.parametrize(
        ("kwargs", "option"),
        [
            ({"log_group": "bad group name!"}, "log_group"),
            ({"log_group": "/ok", "stream": "{service}/{user}"}, "stream"),
            ({"log_group": "/ok", "stream": "a:{pid}"}, "stream"),
            ({"log_group": "/ok", "retention_days": 31}, "retention_days"),
            ({"log_group": "/ok", "endpoint_url": "ftp://x"}, "endpoint_url"),
            ({"log_group": "/ok", "region": "Mars"}, "region"),
            ({"log_group": "/ok", "client": object()}, "client"),
            ({"log_group": "/ok", "max_queue_events": 0}, "max_queue_events"),
            ({"log_group": "/ok", "send_interval": True}, "send_interval"),
        ],
    )
    def test_bad_options_fail_fast_naming_the_option(self, kwargs: Any, option: str) -> None:
        """A wrong option is a ConfigurationError that names the option."""
        with pytest.raises(safelog.ConfigurationError) as info:
            safelog.CloudWatch(**kwargs)
        assert str(info.value).startswith(option + ":")

    def test_import_safelog_loads_no_aws_sdk(self) -> None:
        """`import safelog` (and building a CloudWatch) imports no boto3, botocore or watchtower."""
        code = (
            "import sys, safelog; safelog.CloudWatch(log_group='/x');"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('boto3','botocore','watchtower','pytest')))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        assert out.stdout.strip() == "[]"

    def test_configure_does_no_network_io(self, limits: CloudWatchLimits) -> None:
        """configure() with CloudWatch unreachable returns, raises nothing and sends nothing."""
        port = _free_port()
        cw = safelog.CloudWatch(
            log_group=_group(), client=lambda: _client(f"http://127.0.0.1:{port}", limits)
        )
        safelog.configure(service="svc", console=False, cloudwatch=cw)
        assert limits.calls == 0
        assert "safelog-cloudwatch" not in {t.name for t in threading.enumerate()}
        safelog.shutdown(timeout=0.5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TestDelivery:
    def test_every_event_arrives_while_the_stream_is_created(
        self, server: EmbeddedMoto, limits: CloudWatchLimits
    ) -> None:
        """Events logged from many threads while group and stream are created are all delivered."""
        safelog.configure(service="svc", console=False, cloudwatch=_cw(server, limits))
        log = safelog.get_logger(__name__)

        def work() -> None:
            for _ in range(1000):
                log.info("page.exported")

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        lines = _sink().read_back(timeout=30)
        assert len(_events(lines, "page.exported")) == 4000
        stats = safelog.stats()
        assert stats["cloudwatch_delivered"] == 4000
        assert stats["cloudwatch_dropped"] == 0
        # Only the shipper thread ever talked to CloudWatch.
        assert threading.get_ident() not in limits.threads
        assert all(t.ident not in limits.threads for t in threads)

    def test_deleted_group_is_recreated_without_dropping(
        self, server: EmbeddedMoto, limits: CloudWatchLimits
    ) -> None:
        """A log group deleted while the service runs is re-created and nothing is dropped."""
        admin = _client(server.endpoint_url)  # made first: its own INFO records are not counted
        cw = _cw(server, limits, retention_days=7)
        safelog.configure(service="svc", console=False, cloudwatch=cw)
        log = safelog.get_logger(__name__)
        for _ in range(100):
            log.info("before.delete")
        sink = _sink()
        sink.flush(10)
        group = admin.describe_log_groups(logGroupNamePrefix=cw.log_group)["logGroups"][0]
        assert group["retentionInDays"] == 7
        admin.delete_log_group(logGroupName=cw.log_group)
        for _ in range(100):
            log.info("after.delete")
        lines = sink.read_back(timeout=20)
        assert len(_events(lines, "after.delete")) == 100
        stats = safelog.stats()
        assert stats["cloudwatch_delivered"] == 200
        assert stats["cloudwatch_dropped"] == 0

    def test_stdlib_percent_args_and_dictconfig_do_not_stop_shipping(
        self, server: EmbeddedMoto, limits: CloudWatchLimits
    ) -> None:
        """A bad % argument raises nothing, and a later dictConfig does not turn shipping off."""
        safelog.configure(service="svc", console=False, cloudwatch=_cw(server, limits))
        std = logging.getLogger("svc.jobs")
        std.info("exported %d pages", CANARY)  # would be a TypeError in watchtower
        loggers = [
            x for x in logging.Logger.manager.loggerDict.values() if isinstance(x, logging.Logger)
        ]
        disabled = [(lg, lg.disabled) for lg in loggers]
        try:
            logging.config.dictConfig({"version": 1, "disable_existing_loggers": True})
            logging.shutdown()  # what dictConfig and interpreter exit do to every handler
            safelog.get_logger(__name__).info("structlog after dictconfig")
            lines = _sink().read_back(timeout=20)
        finally:
            for lg, was in disabled:
                lg.disabled = was
        assert len(_events(lines, "exported %d pages")) == 1
        assert len(_events(lines, "structlog after dictconfig")) == 1
        assert not any(CANARY in line for line in lines), "canary reached CloudWatch"

    def test_unknown_objects_are_never_serialised_with_repr(
        self, server: EmbeddedMoto, limits: CloudWatchLimits
    ) -> None:
        """An object whose repr holds content never reaches CloudWatch as text."""

        class Page:
            def __repr__(self) -> str:
                return CANARY

            __str__ = __repr__

        safelog.configure(
            service="svc",
            console=False,
            fields={"page_id": safelog.Id()},
            cloudwatch=_cw(server, limits),
        )
        log = safelog.get_logger(__name__)
        log.info("page.saved", page_id=Page(), page=Page())
        logging.getLogger("svc").warning(Page())
        lines = _sink().read_back(timeout=20)
        assert len(lines) == 2
        assert not any(CANARY in line for line in lines), "canary reached CloudWatch"

    def test_read_back_returns_messages_in_order(
        self, server: EmbeddedMoto, limits: CloudWatchLimits
    ) -> None:
        """read_back returns exactly what was stored, oldest first."""
        safelog.configure(service="svc", console=False, cloudwatch=_cw(server, limits))
        sink = _sink()
        base = time.time()
        for i in range(50):
            sink._now = lambda i=i: base + i / 1000
            sink.write(json.dumps({"event": "seq", "n": i}))
        lines = sink.read_back(timeout=20)
        assert [json.loads(x)["n"] for x in lines] == list(range(50))

    def test_read_back_reads_after_a_flush_that_used_the_whole_timeout(
        self, server: EmbeddedMoto, limits: CloudWatchLimits
    ) -> None:
        """A flush that takes all of read_back's timeout still leaves the read its own."""
        safelog.configure(service="svc", console=False, cloudwatch=_cw(server, limits))
        sink = _sink()
        for i in range(5):
            sink.write(json.dumps({"event": "stored", "n": i}))
        sink.flush(10)
        limits.hold()  # the next batch hangs, so the flush uses the whole timeout
        try:
            sink.write('{"event":"held"}')
            lines = sink.read_back(timeout=1.0)
        finally:
            limits.release()
        assert len(_events(lines, "stored")) == 5


class TestLimits:
    def test_oversized_record_is_cut_to_a_valid_marked_record(
        self, server: EmbeddedMoto, limits: CloudWatchLimits
    ) -> None:
        """A record over 1 MB is cut to valid JSON under the limit, marked with its size."""
        safelog.configure(service="svc", console=False, cloudwatch=_cw(server, limits))
        sink = _sink()
        line = json.dumps(
            {"event": "huge", "level": "info", "error": {"frames": ["x" * 2_000_000]}}
        )
        sink.write(line)
        lines = sink.read_back(timeout=20)
        (record,) = _events(lines, "huge")
        assert record[_shipper.CUT_MARKER] == len(line)
        assert record["dropped"] == 1
        assert "error" not in record
        assert len(lines[0].encode()) <= _shipper.MAX_EVENT_BYTES
        assert safelog.stats()["cloudwatch_cut"] == 1

    def test_rejected_events_are_counted_not_retried(
        self, server: EmbeddedMoto, limits: CloudWatchLimits
    ) -> None:
        """Events CloudWatch rejects (too old) are counted once, never retried."""
        safelog.configure(service="svc", console=False, cloudwatch=_cw(server, limits))
        sink = _sink()
        now = time.time()
        for i in range(10):
            sink._now = lambda i=i: now - (20 * 86400 if i < 4 else 0) + i / 1000
            sink.write(f'{{"event":"aged","n":{i}}}')
        lines = sink.read_back(timeout=20)
        assert len(_events(lines, "aged")) == 6
        stats = safelog.stats()
        assert stats["cloudwatch_dropped_rejected"] == 4
        assert stats["cloudwatch_retries"] == 0
        (loss,) = _losses(lines)
        assert loss["cloudwatch_dropped_rejected"] == 4


class TestFaults:
    def test_throttling_and_server_errors_are_retried_with_backoff(
        self, server: EmbeddedMoto, limits: CloudWatchLimits
    ) -> None:
        """Throttling, 500 and 503 responses are retried with growing, jittered delays."""
        safelog.configure(service="svc", console=False, cloudwatch=_cw(server, limits))
        sink = _sink()
        sink.write('{"event":"warmup"}')
        sink.flush(10)
        limits.fail(3, 400, "ThrottlingException", "Rate exceeded")
        limits.fail(1, 500, "InternalFailure")
        limits.fail(1, 503, "ServiceUnavailableException")
        for i in range(100):
            sink.write(f'{{"event":"retried","n":{i}}}')
        lines = sink.read_back(timeout=30)
        assert len(_events(lines, "retried")) == 100
        stats = safelog.stats()
        assert stats["cloudwatch_retries"] == 5
        assert stats["cloudwatch_dropped"] == 0
        delays = sink.backoff_delays
        assert len(delays) == 5
        for attempt, delay in enumerate(delays, start=1):
            assert 0 <= delay <= min(_limits.BACKOFF_CAP, _limits.BACKOFF_BASE * 2**attempt)
        assert len(set(delays)) == 5, "delays are jittered"

    def test_a_batch_the_shipper_keeps_failing_on_is_counted_then_shipping_goes_on(
        self, server: EmbeddedMoto, limits: CloudWatchLimits, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A batch that fails inside the shipper 3 times is counted and reported, not retried."""
        console = io.StringIO()
        safelog.configure(service="svc", console=console, cloudwatch=_cw(server, limits))
        sink = _sink()
        send = sink.shipper.send

        def poisoned(batch: Any) -> None:
            if any('"poison"' in line for _ts, line, _n in batch):
                raise RuntimeError
            send(batch)

        monkeypatch.setattr(sink.shipper, "send", poisoned)
        sink.write('{"event":"poison"}')
        sink.flush(5)
        for _ in range(50):
            sink.write('{"event":"after"}')
        lines = sink.read_back(timeout=5)
        stats = sink.stats()
        assert len(_events(lines, "after")) == 50
        assert stats["cloudwatch_errors"] == 3
        assert stats["cloudwatch_dropped_invalid"] == 1
        assert stats["cloudwatch_delivered"] + stats["cloudwatch_dropped"] == 51 + len(
            _losses(lines)
        )
        shown = _losses(console.getvalue().splitlines())
        assert shown[-1]["cloudwatch_dropped_invalid"] == 1

    def test_unresponsive_cloudwatch_never_blocks_the_caller(
        self, server: EmbeddedMoto, limits: CloudWatchLimits
    ) -> None:
        """While CloudWatch holds every request, log calls still return; then all arrive."""
        safelog.configure(service="svc", console=False, cloudwatch=_cw(server, limits))
        log = safelog.get_logger(__name__)
        log.info("first")
        _sink().flush(10)
        limits.hold()
        log.info("stuck")
        done = threading.Event()

        def work() -> None:
            for _ in range(2000):
                log.info("while.held")
            done.set()

        worker = threading.Thread(target=work)
        worker.start()
        assert done.wait(30), "log calls blocked while CloudWatch was unresponsive"
        assert not limits.released.is_set()
        limits.release()
        worker.join()
        lines = _sink().read_back(timeout=30)
        assert len(_events(lines, "while.held")) == 2000

    def test_full_queue_drops_are_counted_and_reported_once(
        self, server: EmbeddedMoto, limits: CloudWatchLimits
    ) -> None:
        """Overflow is counted and reported in one record; delivered = emitted - dropped."""
        console = io.StringIO()
        cw = _cw(server, limits, max_queue_events=100)
        safelog.configure(service="svc", console=console, cloudwatch=cw)
        sink = _sink()
        sink.write('{"event":"warmup"}')
        sink.flush(10)
        limits.hold()
        log = safelog.get_logger(__name__)
        for _ in range(1000):
            log.info("burst")
        stats = safelog.stats()
        assert stats["cloudwatch_queued"] <= 100
        dropped = stats["cloudwatch_dropped_overflow"]
        assert dropped == 900
        limits.release()
        lines = sink.read_back(timeout=30)
        assert len(_events(lines, "burst")) == 1000 - dropped
        (loss,) = _losses(lines)
        assert loss["cloudwatch_dropped"] == dropped
        assert loss["event"] == _shipper.LOSS_EVENT
        shown = _losses(console.getvalue().splitlines())
        assert [x["cloudwatch_dropped"] for x in shown] == [dropped]

    def test_after_an_outage_delivery_resumes_fast_and_drains_in_full_batches(
        self, server: EmbeddedMoto, limits: CloudWatchLimits
    ) -> None:
        """Endpoint down then back: retries stay under a second apart, the backlog ships full."""
        cw = _cw(server, limits, send_interval=0.1)
        console = io.StringIO()
        safelog.configure(service="svc", console=console, cloudwatch=cw)
        sink = _sink()
        for i in range(200):
            sink.write(f'{{"event":"before.outage","n":{i}}}')
        sink.flush(10)
        # The worst case of the jitter: every retry waits its whole bound.
        sink.shipper.uniform = lambda _lo, hi: hi
        server.stop()
        try:
            sink.write('{"event":"first.during.outage"}')
            # Events, not time: wait until the shipper has failed 4 times
            # (bounds 0.2, 0.4, 0.8, then 1.6 s without the recovery cap).
            assert _wait_for(lambda: sink.stats()["cloudwatch_failed_endpoint"] >= 4)
            for i in range(12_000):
                sink.write(f'{{"event":"during.outage","n":{i}}}')
        finally:
            server.start()
        sent_before = len(limits.batches)
        lines = sink.read_back(timeout=60)
        assert len(_events(lines, "during.outage")) == 12_000
        stats = sink.stats()
        assert stats["cloudwatch_dropped"] == 0
        # While the endpoint was unreachable, no retry waited over about a second.
        assert len(sink.backoff_delays) >= 4
        assert max(sink.backoff_delays) <= _limits.RECOVERY_CAP <= 1.0
        # The backlog drained in full batches, not one per send_interval.
        after = [n for n, _w in limits.batches[sent_before:]]
        assert after.count(_limits.MAX_BATCH_EVENTS) >= 1, after
        shown = console.getvalue().splitlines()
        (failing,) = _events(shown, _shipper.FAILURE_EVENT)
        assert failing["cloudwatch_reason"] == "endpoint"
        assert failing["cloudwatch_error"] == "EndpointConnectionError"
        assert failing["cloudwatch_operation"] == "PutLogEvents"
        assert len(_events(shown, _shipper.RECOVERED_EVENT)) == 1
        assert sink.problems() == []

    @pytest.mark.parametrize(
        ("code", "reason"),
        [("AccessDeniedException", "access_denied"), ("ExpiredTokenException", "credentials")],
    )
    def test_denied_or_expired_is_reported_once_then_recovery_is_said(
        self, server: EmbeddedMoto, limits: CloudWatchLimits, code: str, reason: str
    ) -> None:
        """AccessDenied or an expired token yields one failure record, then one recovery record."""
        console = io.StringIO()
        safelog.configure(service="svc", console=console, cloudwatch=_cw(server, limits))
        sink = _sink()
        sink.shipper.uniform = lambda lo, _hi: lo  # no waiting between the retries
        limits.fail(3, 400, code, CANARY)
        sink.write('{"event":"kept"}')
        lines = sink.read_back(timeout=30)
        assert len(_events(lines, "kept")) == 1
        shown = console.getvalue().splitlines()
        assert CANARY not in console.getvalue()
        (failing,) = _events(shown, _shipper.FAILURE_EVENT)
        assert failing["cloudwatch_reason"] == reason
        assert failing["cloudwatch_error_code"] == code
        assert failing["cloudwatch_operation"] == "PutLogEvents"
        assert failing["cloudwatch_error"] in (code, "ClientError")
        assert len(_events(shown, _shipper.RECOVERED_EVENT)) == 1
        assert sink.stats()[f"cloudwatch_failed_{reason}"] == 3
        assert sink.problems() == []

    def test_shutdown_with_cloudwatch_down_is_bounded_and_reports_loss(
        self, limits: CloudWatchLimits
    ) -> None:
        """With CloudWatch down, shutdown() returns by its deadline and reports every loss."""
        console = io.StringIO()
        port = _free_port()
        cw = safelog.CloudWatch(
            log_group=_group(), client=lambda: _client(f"http://127.0.0.1:{port}", limits)
        )
        safelog.configure(service="svc", console=console, cloudwatch=cw)
        log = safelog.get_logger(__name__)
        for _ in range(50):
            log.info("lost.at.exit")
        sink = _sink()
        started = time.monotonic()
        safelog.shutdown(timeout=1.0)
        assert time.monotonic() - started < 3.0
        assert sink.stats()["cloudwatch_dropped_exit"] == 50
        (loss,) = _losses(console.getvalue().splitlines())
        assert loss["cloudwatch_dropped_exit"] == 50
        assert loss["cloudwatch_delivered"] == 0


class TestNoLeaks:
    def test_sdk_error_messages_are_never_printed_or_shipped(
        self, server: EmbeddedMoto, limits: CloudWatchLimits, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """Error messages from CloudWatch (which can echo values) reach no sink and no warning."""
        console = io.StringIO()
        safelog.configure(service="svc", console=console, cloudwatch=_cw(server, limits))
        sink = _sink()
        limits.fail(2, 400, "ThrottlingException", CANARY)
        limits.fail(1, 403, "AccessDeniedException", CANARY)
        limits.fail(1, 400, "InvalidParameterException", CANARY)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sink.write('{"event":"rejected.batch"}')
            sink.flush(10)
            sink.write('{"event":"after"}')
            lines = sink.read_back(timeout=20)
        out, err = capfd.readouterr()
        texts = [*lines, console.getvalue(), out, err, *(str(w.message) for w in caught)]
        assert not any(CANARY in t for t in texts), "an SDK error message leaked"
        assert len(_events(lines, "after")) == 1
        assert sink.stats()["cloudwatch_dropped_invalid"] == 1

    def test_botocore_records_are_never_shipped(
        self, server: EmbeddedMoto, limits: CloudWatchLimits
    ) -> None:
        """At DEBUG, records botocore and urllib3 log while shipping are suppressed."""
        safelog.configure(
            service="svc", console=False, level="DEBUG", cloudwatch=_cw(server, limits)
        )
        log = safelog.get_logger(__name__)
        for _ in range(20):
            log.info("shipped")
        lines = _sink().read_back(timeout=20)
        loggers = {json.loads(x).get("logger") for x in lines}
        assert not any(str(name).startswith(("botocore", "urllib3", "boto3")) for name in loggers)
        assert len(_events(lines, "shipped")) == 20
        assert safelog.stats()["stdlib_suppressed"] > 0


# -- whole processes ------------------------------------------------------------

_PRELUDE = """
import os, sys, time, signal
import safelog
URL, GROUP, N = sys.argv[1], sys.argv[2], int(sys.argv[3])
safelog.configure(
    service="child",
    console=False,  # loss records still go to stderr
    cloudwatch=safelog.CloudWatch(
        log_group=GROUP, endpoint_url=URL, region="us-east-1", send_interval=60
    ),
)
log = safelog.get_logger("child")
"""


def _run(
    body: str, url: str, group: str, n: int, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    script = _script(_PRELUDE + textwrap.dedent(body))
    env = {**os.environ, **AWS_ENV}
    try:
        return subprocess.run(
            [sys.executable, script, url, group, str(n)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=ROOT,
            check=False,
        )
    finally:
        Path(script).unlink()


def _script(code: str) -> str:
    """
    *code* as a file: event names are trusted as literals only in code
    safelog can read from a file (``python -c`` code has none).
    """
    import tempfile

    fd, path = tempfile.mkstemp(suffix=".py", prefix="safelog_cw_child_")
    with os.fdopen(fd, "w") as f:
        f.write(code)
    return path


def _stored(server: EmbeddedMoto, group: str) -> list[dict[str, Any]]:
    client = _client(server.endpoint_url)
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"logGroupName": group}
    while True:
        page = client.filter_log_events(**kwargs)
        out.extend(json.loads(e["message"]) for e in page["events"])
        if not page.get("nextToken"):
            return out
        kwargs["nextToken"] = page["nextToken"]


def _reported_drops(stderr: str) -> int:
    """Losses reported by every process (each reports its own running total)."""
    losses = _losses([x for x in stderr.splitlines() if x.startswith("{")])
    per_pid: dict[Any, int] = {}
    for x in losses:
        per_pid[x.get("pid")] = max(per_pid.get(x.get("pid"), 0), x["cloudwatch_dropped"])
    return sum(per_pid.values())


class TestProcessExit:
    def test_normal_exit_delivers_every_queued_event(self, server: EmbeddedMoto) -> None:
        """A process that just ends ships what it queued (send_interval 60 s never elapsed)."""
        group = _group()
        proc = _run("for _ in range(N): log.info('queued')\n", server.endpoint_url, group, 3000)
        assert proc.returncode == 0
        delivered = sum(1 for r in _stored(server, group) if r["event"] == "queued")
        assert delivered == 3000 - _reported_drops(proc.stderr)
        assert delivered == 3000

    def test_sigterm_flushes_then_dies_by_sigterm(self, server: EmbeddedMoto) -> None:
        """On SIGTERM (no service handler) queued events ship, then the process dies by it."""
        group = _group()
        body = """
        for _ in range(N): log.info('before.sigterm')
        print('ready', flush=True)
        time.sleep(60)
        """
        script = _script(_PRELUDE + textwrap.dedent(body))
        proc = subprocess.Popen(
            [sys.executable, script, server.endpoint_url, group, "5000"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **AWS_ENV},
        )
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 30)
            assert ready, "the child never got ready"
            assert proc.stdout.readline().strip() == "ready"
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
            Path(script).unlink()
        assert proc.returncode == -signal.SIGTERM
        delivered = sum(1 for r in _stored(server, group) if r["event"] == "before.sigterm")
        assert delivered == 5000 - _reported_drops(err)
        assert delivered == 5000

    def test_a_service_sigterm_handler_is_left_alone(self) -> None:
        """When the service handles SIGTERM itself, safelog installs nothing."""

        def own(signum: int, frame: object) -> None:
            return

        previous = signal.signal(signal.SIGTERM, own)
        try:
            safelog.configure(
                service="svc", console=False, cloudwatch=safelog.CloudWatch(log_group="/x/y")
            )
            assert signal.getsignal(signal.SIGTERM) is own
            safelog.shutdown(timeout=0.1)
            assert signal.getsignal(signal.SIGTERM) is own
        finally:
            signal.signal(signal.SIGTERM, previous)

    def test_exit_with_cloudwatch_unresponsive_is_bounded_and_reports_loss(self) -> None:
        """With CloudWatch hanging, exit takes the deadline and reports every loss."""
        with socket.socket() as hole:
            hole.bind(("127.0.0.1", 0))
            hole.listen(64)  # accepts in the kernel, never answers
            url = f"http://127.0.0.1:{hole.getsockname()[1]}"
            body = """
            safelog.shutdown()
            cw = safelog.CloudWatch(log_group=GROUP, endpoint_url=URL, region="us-east-1")
            safelog.configure(service="child", console=False, shutdown_timeout=1.5, cloudwatch=cw)
            log = safelog.get_logger("child")
            for _ in range(N): log.info('never.delivered')
            """
            started = time.monotonic()
            proc = _run(body, url, "/test/hole", 400)
            elapsed = time.monotonic() - started
        assert proc.returncode == 0
        assert elapsed < 10
        assert _reported_drops(proc.stderr) == 400


class TestFork:
    def test_forked_children_ship_their_own_events(self, server: EmbeddedMoto) -> None:
        """multiprocessing (fork) and os.fork children ship their events from own streams."""
        group = _group()
        body = """
        import multiprocessing as mp

        # A loaded CI machine runs three children, a parent and moto on two
        # cores: give each process a generous exit deadline.
        safelog.shutdown()
        safelog.configure(
            service="child",
            console=False,
            cloudwatch=safelog.CloudWatch(
                log_group=GROUP, endpoint_url=URL, region="us-east-1", send_interval=60
            ),
            shutdown_timeout=30,
        )

        def child(k):
            for _ in range(N): log.info('from.mp.child')

        for _ in range(N): log.info('from.parent')
        ctx = mp.get_context('fork')
        procs = [ctx.Process(target=child, args=(k,)) for k in range(3)]
        for p in procs: p.start()
        for p in procs: p.join(30)
        assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
        pid = os.fork()
        if pid == 0:
            for _ in range(N): log.info('from.os.fork')
            sys.exit(0)  # a gunicorn-style worker exit: atexit runs
        _, status = os.waitpid(pid, 0)
        assert status == 0
        """
        proc = _run(body, server.endpoint_url, group, 500, timeout=150)
        # The script's own stderr: loss records and assertion text, no content.
        assert proc.returncode == 0, proc.stderr[-3000:]
        records = _stored(server, group)
        drops = _reported_drops(proc.stderr)
        counts = {
            name: sum(1 for r in records if r["event"] == name)
            for name in ("from.parent", "from.mp.child", "from.os.fork")
        }
        per_pid: dict[Any, int] = {}
        for r in records:
            per_pid[r["pid"]] = per_pid.get(r["pid"], 0) + 1
        # The guarantee first: every event is delivered or counted as lost.
        assert sum(counts.values()) + drops == 2500, (counts, drops, per_pid)
        assert counts == {"from.parent": 500, "from.mp.child": 1500, "from.os.fork": 500}, (
            counts,
            drops,
            per_pid,
        )
        assert drops == 0
        pids = {r["pid"] for r in records}
        assert len(pids) == 5
        streams = _client(server.endpoint_url).describe_log_streams(logGroupName=group)
        assert len(streams["logStreams"]) == 5

    def test_multiprocessing_child_that_configures_itself_ships_everything(
        self, server: EmbeddedMoto, tmp_path: Path
    ) -> None:
        """A fork or forkserver child that calls configure() itself flushes before os._exit."""
        group = _group()
        script = tmp_path / "mp_child.py"
        script.write_text(_MP_CHILD)
        proc = subprocess.run(
            [sys.executable, str(script), server.endpoint_url, group, "300"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **AWS_ENV},
            cwd=ROOT,
            check=False,
        )
        assert proc.returncode == 0, "child script failed"
        assert _reported_drops(proc.stderr) == 0
        for method in ("fork", "forkserver"):
            records = _stored(server, f"{group}-{method}")
            assert sum(1 for r in records if r["event"] == "from.child") == 300, method

    def _fork_while_building(self, server: EmbeddedMoto, *, released_by_fork: bool) -> list[str]:
        """
        Fork (from a thread) while the shipper's client factory runs; return
        the order of "built" (the factory returned) and "forked" (os.fork()
        returned in the parent). With *released_by_fork* the factory only
        returns after the fork did (an STS call slower than the cap).
        """
        entered, fork_started, release = threading.Event(), threading.Event(), threading.Event()
        order: list[str] = []
        endpoint = server.endpoint_url

        def factory() -> Any:
            entered.set()
            release.wait(60)  # building: SSLContext, or an STS call
            order.append("built")
            return _client(endpoint)

        cw = safelog.CloudWatch(log_group=_group(), client=factory, handle_sigterm=False)
        safelog.configure(service="svc", console=False, cloudwatch=cw)
        safelog.get_logger(__name__).info("starts.the.thread")
        assert entered.wait(10)
        _watch_forks()
        _FORK_STARTED.append(fork_started)

        def fork() -> None:
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            order.append("forked")
            os.waitpid(pid, 0)

        forker = threading.Thread(target=fork)
        try:
            forker.start()
            assert fork_started.wait(10)  # safelog's before-fork hook runs next
            if not released_by_fork:
                release.set()
            forker.join(60)
            assert not forker.is_alive()
        finally:
            _FORK_STARTED.clear()
            release.set()
        lines = _sink().read_back(timeout=10)
        assert len(_events(lines, "starts.the.thread")) == 1
        return order

    def test_fork_waits_for_a_client_being_built(self, server: EmbeddedMoto) -> None:
        """A fork never lands mid-build: the child would inherit OpenSSL's lock, held."""
        assert self._fork_while_building(server, released_by_fork=False)[:2] == ["built", "forked"]

    def test_a_slow_client_factory_holds_up_fork_only_up_to_a_cap(
        self, server: EmbeddedMoto, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A factory that never finishes (an STS call hanging) delays os.fork() by a cap only."""
        monkeypatch.setattr(_sink_module, "FORK_BUILD_WAIT", 0.2)
        assert self._fork_while_building(server, released_by_fork=True)[0] == "forked"


# Events set by a before-fork hook registered after safelog's (once a sink
# exists), so it runs before safelog's: CPython runs "before" hooks newest
# first.
_FORK_STARTED: list[threading.Event] = []
_FORK_WATCHED: list[bool] = []


def _watch_forks() -> None:
    if not _FORK_WATCHED:
        _FORK_WATCHED.append(True)
        os.register_at_fork(before=lambda: [e.set() for e in _FORK_STARTED])


def _wait_for(condition: Any, timeout: float = 60.0) -> bool:
    """Poll *condition* until true; the timeout only stops a broken test."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


_MP_CHILD = """
import sys, multiprocessing as mp
import safelog

def work(url, group, n):
    cw = safelog.CloudWatch(log_group=group, endpoint_url=url, region="us-east-1", send_interval=60)
    safelog.configure(service="child", console=False, cloudwatch=cw)
    log = safelog.get_logger("child")
    for _ in range(n):
        log.info("from.child")

if __name__ == "__main__":
    url, group, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for method in ("fork", "forkserver"):
        p = mp.get_context(method).Process(target=work, args=(url, f"{group}-{method}", n))
        p.start()
        p.join(30)
        assert p.exitcode == 0, p.exitcode
"""


class TestQuickstart:
    """The README's demo (`make demo` runs examples/quickstart.py)."""

    def test_demo_ships_and_reads_back_metadata_only(self) -> None:
        """The demo exits 0, shows what CloudWatch stored, and no planted content is in it."""
        proc = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "quickstart.py")],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert "VERDICT: OK" in proc.stdout
        assert "export.failed" in proc.stdout
        assert "__main__.ExportError" in proc.stdout
        planted = _quickstart().PLANTED
        assert planted
        for text in planted:
            # The demo's planted strings are synthetic: naming them is allowed.
            assert text not in proc.stdout, text
            assert text not in proc.stderr, text

    def test_verdict_fails_when_planted_content_is_stored(self, capsys) -> None:
        """The verdict is not a formality: one planted title in a stored record fails it."""
        qs = _quickstart()
        stored = [json.dumps({"event": "export.done", "title": qs.PLANTED[0]})]
        assert qs.verdict(stored) == 1
        assert "VERDICT: FAIL" in capsys.readouterr().out
        assert qs.verdict([json.dumps({"event": "export.done"})]) == 0
        assert qs.verdict([]) == 1  # nothing stored proves nothing


def _quickstart() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "quickstart_demo", ROOT / "examples" / "quickstart.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
