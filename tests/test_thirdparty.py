"""
Real third-party leak sources through the chain: botocore and urllib3 at DEBUG,
pydantic's ValidationError, asyncio's "Task exception was never retrieved".

Each test asserts both directions: no canary in any sink output, and the
library's records did arrive (logger names, templates), so it cannot pass
because nothing was logged.
"""

from __future__ import annotations

import asyncio
import gc
import http.server
import logging
import threading
import uuid

from collections.abc import Iterator
from typing import Any

import pytest

import safelog

from safelog._embedded import EmbeddedMoto


def _canary(label: str) -> str:
    return f"{label}{uuid.uuid4().hex}"


def _assert_no_canary(text: str, *canaries: str) -> None:
    __tracebackhide__ = True
    for canary in canaries:
        assert canary not in text, f"canary {canary} reached the console sink"


def _configure(console: Any) -> None:
    safelog.configure(service="svc", console=console.stream, level="DEBUG")
    assert logging.getLogger().level == logging.DEBUG


@pytest.fixture(scope="module")
def moto() -> Iterator[EmbeddedMoto]:
    server = EmbeddedMoto().start()
    try:
        yield server
    finally:
        server.stop()


class _QuietHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # http.server prints the request line (with the query) to stderr.
        return


@pytest.fixture
def local_http() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class TestBotocore:
    def test_put_object_at_debug_leaks_nothing(self, console, moto: EmbeddedMoto) -> None:
        """botocore at DEBUG: body, key, metadata and session token never reach a sink."""
        import boto3

        body = _canary("quarterly-report-body-")
        key = _canary("customer-file-name-")
        meta = _canary("owner-email-")
        token = _canary("session-token-")
        _configure(console)
        client = boto3.client(
            "s3",
            endpoint_url=moto.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token=token,
        )
        client.create_bucket(Bucket="leak-test-bucket")
        client.put_object(
            Bucket="leak-test-bucket",
            Key=f"exports/{key}/Board minutes.txt",
            Body=f"Minutes: the customer said {body}".encode(),
            Metadata={"owner": meta},
        )
        # The upload really happened with the content (not a vacuous pass).
        got = client.get_object(Bucket="leak-test-bucket", Key=f"exports/{key}/Board minutes.txt")
        assert body in got["Body"].read().decode()
        assert got["Metadata"]["owner"] == meta
        safelog.shutdown()

        _assert_no_canary(console.text, body, key, meta, token)
        records = console.records()
        seen = {(r["logger"], r["event"]) for r in records}
        loggers = {r["logger"] for r in records}
        assert {"botocore.endpoint", "botocore.auth", "botocore.parsers"} <= loggers
        assert ("botocore.endpoint", "Making request for %s with params: %s") in seen
        assert ("botocore.endpoint", "Sending http request: %s") in seen
        assert any(r["logger"] == "urllib3.connectionpool" for r in records)
        assert all(r["level"] in {"debug", "info", "warning", "error", "critical"} for r in records)
        # The args carrying the request were there, and were counted.
        making = [r for r in records if r["event"] == "Making request for %s with params: %s"]
        assert all(r["dropped"] == 2 for r in making)


class TestUrllib3:
    def test_query_string_at_debug_leaks_nothing(self, console, local_http: str) -> None:
        """urllib3 at DEBUG: the URL's query string never reaches a sink."""
        import urllib3

        query = _canary("search-")
        email = _canary("alice.")
        _configure(console)
        with urllib3.PoolManager() as pool:
            resp = pool.request("GET", f"{local_http}/search?q={query}&email={email}@example.com")
        assert resp.status == 200
        safelog.shutdown()

        _assert_no_canary(console.text, query, email)
        records = [r for r in console.records() if r["logger"] == "urllib3.connectionpool"]
        events = {r["event"] for r in records}
        assert "Starting new HTTP connection (%d): %s:%s" in events
        assert '%s://%s:%s "%s %s %s" %s %s' in events
        request_line = next(r for r in records if r["event"].startswith("%s://"))
        assert request_line["dropped"] == 8
        assert request_line["level"] == "debug"


class TestPydantic:
    def test_validation_error_contributes_its_type_only(self, console) -> None:
        """A pydantic ValidationError (whose text embeds the input) logs only its type."""
        import pydantic

        class Signup(pydantic.BaseModel):
            age: int
            email_count: int

        age = _canary("forty-two, said ")
        _configure(console)
        log = safelog.get_logger(__name__)

        def signup() -> None:
            try:
                Signup(age=age, email_count=1)  # type: ignore[arg-type]
            except pydantic.ValidationError:
                log.exception("signup_invalid")
                logging.getLogger(__name__).exception("signup_invalid_stdlib")
                raise

        with pytest.raises(pydantic.ValidationError) as info:
            signup()
        # The error's own text carries the input: a real leak source.
        assert age in str(info.value)
        safelog.shutdown()

        _assert_no_canary(console.text, age)
        first, second = (r for r in console.records() if r["logger"] == __name__)
        assert first["event"] == "signup_invalid"
        assert second["event"] == "signup_invalid_stdlib"
        for record in (first, second):
            assert record["level"] == "error"
            assert record["error"]["type"].endswith("ValidationError")


class TestAsyncio:
    def test_task_exception_never_retrieved_leaks_nothing(self, console) -> None:
        """asyncio's report of an unretrieved task exception keeps only metadata."""
        note = _canary("customer note: ")
        _configure(console)

        async def boom() -> None:
            raise ValueError(note)

        async def main() -> None:
            task = asyncio.ensure_future(boom())
            for _ in range(3):
                await asyncio.sleep(0)
            assert task.done()
            del task
            gc.collect()

        asyncio.run(main())
        gc.collect()
        safelog.shutdown()

        _assert_no_canary(console.text, note)
        reports = [r for r in console.records() if r.get("error", {}).get("type") == "ValueError"]
        assert len(reports) == 1
        report = reports[0]
        assert report["level"] == "error"
        assert report["logger"] == "asyncio"
        # asyncio formats repr(task) into the message: built at runtime.
        assert report["event"] == "<non-constant-event>"
