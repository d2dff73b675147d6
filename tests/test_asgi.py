"""safelog.asgi under a real uvicorn process serving examples/fastapi_service.py."""

from __future__ import annotations

import asyncio
import signal

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fastapi import FastAPI, Request
from starlette.testclient import TestClient

import safelog
import safelog.asgi

from safelog.testing import canary, capture, find_leaks
from servers import EXAMPLES, Server, child_env, listening_socket, venv_bin


PATH_CANARY = canary("account_id")
QUERY_CANARY = canary("text")
HEADER_CANARY = canary("token")
COOKIE_CANARY = canary("token")
BODY_CANARY = canary("body")
EXC_CANARY = canary("account_id")
ALL_CANARIES = (
    PATH_CANARY,
    QUERY_CANARY,
    HEADER_CANARY,
    COOKIE_CANARY,
    BODY_CANARY,
    EXC_CANARY,
)


class Uvicorn:
    def __init__(self) -> None:
        self.sock = listening_socket()
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = Server(
            [
                venv_bin("uvicorn"),
                "fastapi_service:app",
                "--fd",
                str(self.sock.fileno()),
                "--no-server-header",
            ],
            env=child_env(),
            cwd=EXAMPLES,
            pass_fds=(self.sock.fileno(),),
        )


@pytest.fixture(scope="module")
def uvicorn() -> Iterator[Uvicorn]:
    srv = Uvicorn()
    try:
        srv.server.wait_for_event("Application startup complete.")
        yield srv
    finally:
        srv.server.stop()
        srv.sock.close()


def _access(records: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
    found = [
        r for r in records if r.get("event") == "http_request" and r.get("request_id") == request_id
    ]
    assert len(found) == 1, f"{len(found)} access records for {request_id}"
    return found[0]


def _wait_access(uv: Uvicorn, request_id: str) -> dict[str, Any]:
    records = uv.server.wait_for(
        lambda rs: any(
            r.get("event") == "http_request" and r.get("request_id") == request_id for r in rs
        ),
        timeout=20,
    )
    return _access(records, request_id)


class TestRequests:
    def test_one_access_record_with_metadata_only(self, uvicorn: Uvicorn) -> None:
        """A request yields one access record: method, route template, status, duration, size."""
        r = httpx.get(
            f"{uvicorn.base}/items/7",
            params={"q": QUERY_CANARY},
            headers={
                "X-Request-ID": "req-one",
                "X-Leak": HEADER_CANARY,
                "User-Agent": HEADER_CANARY,
            },
            cookies={"session": COOKIE_CANARY},
            timeout=10,
        )
        assert r.status_code == 200
        assert r.headers["x-request-id"] == "req-one"
        access = _wait_access(uvicorn, "req-one")
        assert access["method"] == "GET"
        assert access["route"] == "/items/{item_id}"
        assert access["status"] == 200
        assert access["response_size"] == len(r.content)
        assert isinstance(access["duration_ms"], float)
        assert access["logger"] == "safelog.asgi"
        # Records logged inside the handler (structlog and stdlib) carry the id.
        inside = [
            r
            for r in uvicorn.server.records()
            if r.get("event") in ("item_read", "item_read_stdlib")
            and r.get("request_id") == "req-one"
        ]
        assert {r["event"] for r in inside} == {"item_read", "item_read_stdlib"}
        assert all(r["item_id"] == 7 for r in inside)
        # uvicorn's own access line keeps its template, without its arguments.
        assert any(
            r.get("logger") == "uvicorn.access"
            and r.get("request_id") == "req-one"
            and r["event"] == '%s - "%s %s HTTP/%s" %d'
            for r in uvicorn.server.records()
        )

    def test_generated_request_id_is_echoed(self, uvicorn: Uvicorn) -> None:
        """Without an incoming id, one is generated, echoed and bound."""
        r = httpx.get(f"{uvicorn.base}/items/8", timeout=10)
        rid = r.headers["x-request-id"]
        assert len(rid) == 36
        access = _wait_access(uvicorn, rid)
        assert "request_id_rejected" not in access

    def test_content_bearing_request_id_is_replaced(self, uvicorn: Uvicorn) -> None:
        """An over-long or content-bearing request id is replaced, never echoed or logged."""
        for bad in (f"{HEADER_CANARY} <script>", "a" * 500, "ok\x7fid"):
            r = httpx.get(f"{uvicorn.base}/items/9", headers={"X-Request-ID": bad}, timeout=10)
            rid = r.headers["x-request-id"]
            assert rid != bad
            access = _wait_access(uvicorn, rid)
            assert access["request_id_rejected"] is True

    def test_trace_correlation(self, uvicorn: Uvicorn) -> None:
        """traceparent gives trace and span ids; X-Amzn-Trace-Id keeps its X-Ray form too."""
        httpx.get(
            f"{uvicorn.base}/items/1",
            headers={
                "X-Request-ID": "req-trace",
                "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                "X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
            },
            timeout=10,
        )
        access = _wait_access(uvicorn, "req-trace")
        assert access["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
        assert access["span_id"] == "b7ad6b7169203331"
        assert access["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"

    def test_malformed_traceparent_is_dropped_and_flagged(self, uvicorn: Uvicorn) -> None:
        """A malformed traceparent is dropped (no trace ids) and flagged on the record."""
        httpx.get(
            f"{uvicorn.base}/items/2",
            headers={"X-Request-ID": "req-badtrace", "traceparent": f"00-{HEADER_CANARY}-01"},
            timeout=10,
        )
        access = _wait_access(uvicorn, "req-badtrace")
        assert "trace_id" not in access
        assert access["trace_rejected"] is True

    def test_unmatched_route_is_a_marker(self, uvicorn: Uvicorn) -> None:
        """A path no route matches is recorded as the unmatched marker, never the path."""
        r = httpx.get(
            f"{uvicorn.base}/nothing/{PATH_CANARY}", headers={"X-Request-ID": "req-404"}, timeout=10
        )
        assert r.status_code == 404
        access = _wait_access(uvicorn, "req-404")
        assert access["route"] == "<unmatched>"
        assert access["status"] == 404

    def test_exception_is_type_and_frames_only(self, uvicorn: Uvicorn) -> None:
        """An exception escaping the handler: status 500 and the type, never the message."""
        r = httpx.get(
            f"{uvicorn.base}/fail/{EXC_CANARY}", headers={"X-Request-ID": "req-fail"}, timeout=10
        )
        assert r.status_code == 500
        access = _wait_access(uvicorn, "req-fail")
        assert access["status"] == 500
        assert access["route"] == "/fail/{name}"
        assert access["error"]["type"] == "RuntimeError"
        assert access["level"] == "error"

    def test_body_is_never_logged(self, uvicorn: Uvicorn) -> None:
        """A request body is read by the app, never logged."""
        r = httpx.post(
            f"{uvicorn.base}/items/3/notes",
            content=BODY_CANARY.encode(),
            headers={"X-Request-ID": "req-body"},
            timeout=10,
        )
        assert r.status_code == 200
        access = _wait_access(uvicorn, "req-body")
        assert access["method"] == "POST"
        assert access["route"] == "/items/{item_id}/notes"


class TestConcurrency:
    def test_no_context_bleeds_between_concurrent_requests(self, uvicorn: Uvicorn) -> None:
        """250 concurrent requests: every record carries its own request's id and no other."""
        n = 250

        async def drive() -> list[int]:
            limits = httpx.Limits(max_connections=n, max_keepalive_connections=0)
            async with httpx.AsyncClient(limits=limits, timeout=60) as client:
                responses = await asyncio.gather(
                    *(
                        client.get(
                            f"{uvicorn.base}/items/{1000 + i}",
                            headers={"X-Request-ID": f"conc-{1000 + i}"},
                        )
                        for i in range(n)
                    )
                )
            return [r.status_code for r in responses]

        statuses = asyncio.run(drive())
        assert statuses == [200] * n
        uvicorn.server.wait_for(
            lambda rs: (
                sum(
                    1
                    for r in rs
                    if r.get("event") == "http_request"
                    and str(r.get("request_id")).startswith("conc-")
                )
                >= n
            ),
            timeout=30,
        )
        records = [
            r for r in uvicorn.server.records() if str(r.get("request_id", "")).startswith("conc-")
        ]
        by_item = [r for r in records if "item_id" in r]
        # Two records per request from inside the handler, each with its own id.
        assert len(by_item) == 2 * n
        for r in by_item:
            assert r["request_id"] == f"conc-{r['item_id']}"
        access = [r for r in records if r["event"] == "http_request"]
        assert sorted(r["request_id"] for r in access) == sorted(
            f"conc-{1000 + i}" for i in range(n)
        )


class TestLifecycle:
    def test_startup_lines_keep_their_templates_and_no_request_id(self, uvicorn: Uvicorn) -> None:
        """uvicorn's start-up lines keep their constant templates and carry no request context."""
        records = uvicorn.server.records()
        events = [r["event"] for r in records if r.get("logger") == "uvicorn.error"]
        (taken,) = [r for r in records if r["event"] == "stdlib_handlers_taken_over"]
        assert "logging.StreamHandler on uvicorn.access" in taken["handlers_taken_over"]
        assert "Started server process [%d]" in events
        assert "Application startup complete." in events
        assert not any(
            r["event"] == "<non-constant-event>"
            for r in records
            if r.get("logger", "").startswith("uvicorn")
        )
        assert not any(
            "request_id" in r
            for r in records
            if r.get("logger") == "uvicorn.error" and r["level"] == "info"
        )


def test_zz_no_canary_reaches_stdout_or_stderr(uvicorn: Uvicorn) -> None:
    """After every request above and a graceful stop: no canary in any output, nothing but JSON."""
    code = uvicorn.server.stop(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert code in (0, -signal.SIGTERM)
    events = [r["event"] for r in uvicorn.server.records()]
    assert "Finished server process [%d]" in events
    assert uvicorn.server.non_json_lines() == []
    leaks = find_leaks(uvicorn.server.text, *ALL_CANARIES, sink="uvicorn stdout/stderr")
    assert leaks == []


class TestCloudWatch:
    def test_no_canary_reaches_cloudwatch(self, safelog_cloudwatch: Any) -> None:
        """Canaries in path, query, headers, cookies, body, exception: none reaches CloudWatch."""
        safelog.configure(
            service="svc",
            console=False,
            cloudwatch=safelog_cloudwatch,
            fields={"item_id": safelog.Int(min=0)},
        )
        api = FastAPI()
        api.add_middleware(safelog.asgi.SafelogMiddleware)
        log = safelog.get_logger("cw_app")

        @api.post("/items/{item_id}")
        async def post_item(item_id: int, request: Request) -> dict[str, int]:
            await request.body()
            log.info("item_posted", item_id=item_id)
            return {"item_id": item_id}

        @api.get("/fail/{name}")
        async def fail(name: str) -> None:
            raise RuntimeError(name)

        with capture() as cap:
            client = TestClient(api, raise_server_exceptions=False)
            r = client.post(
                "/items/4",
                params={"q": QUERY_CANARY},
                content=BODY_CANARY.encode(),
                headers={"X-Request-ID": "cw-1", "X-Leak": HEADER_CANARY},
                cookies={"session": COOKIE_CANARY},
            )
            assert r.status_code == 200
            assert client.get(f"/fail/{EXC_CANARY}").status_code == 500
            assert client.get(f"/none/{PATH_CANARY}").status_code == 404
            cap.assert_logged(
                "http_request", route="/items/{item_id}", status=200, request_id="cw-1"
            )
            cap.assert_logged("item_posted", item_id=4, request_id="cw-1")
            cap.assert_logged("http_request", route="/fail/{name}", status=500)
            cap.assert_logged("http_request", route="<unmatched>", status=404)
            cap.assert_no_leaks(*ALL_CANARIES)


class TestInProcess:
    def test_app_raising_before_routing(self, console: Any) -> None:
        """An app failing before any route matched: 500, the marker, the type; re-raised."""
        safelog.configure(service="svc", console=console.stream)

        async def broken(scope: Any, receive: Any, send: Any) -> None:
            raise ValueError(EXC_CANARY)

        mw = safelog.asgi.SafelogMiddleware(broken)
        scope = {"type": "http", "method": "GET", "path": f"/{PATH_CANARY}", "headers": []}

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: Any) -> None:
            return None

        with pytest.raises(ValueError, match=EXC_CANARY):
            asyncio.run(mw(scope, receive, send))
        (record,) = [r for r in console.records() if r["event"] == "http_request"]
        assert (record["status"], record["route"], record["level"]) == (500, "<unmatched>", "error")
        assert record["error"]["type"] == "ValueError"
        assert PATH_CANARY not in console.text
        assert EXC_CANARY not in console.text

    def test_lifespan_passes_through_without_context(self, console: Any) -> None:
        """Lifespan scopes are passed on untouched: no request record, no context."""
        safelog.configure(service="svc", console=console.stream)
        seen: list[object] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            from safelog import _context

            seen.append(_context.current())

        asyncio.run(safelog.asgi.SafelogMiddleware(app)({"type": "lifespan"}, None, None))
        assert seen == [None]
        assert console.records() == []
