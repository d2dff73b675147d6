"""safelog.wsgi: examples/flask_service.py under a real gunicorn (--preload); forms in-process."""

from __future__ import annotations

import os
import signal

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from flask import Flask
from werkzeug.test import Client

import safelog
import safelog.wsgi

from safelog.testing import canary, find_leaks
from servers import EXAMPLES, Server, child_env, listening_socket, venv_bin


WORKERS = 3
PATH_CANARY = canary("account_id")
QUERY_CANARY = canary("text")
HEADER_CANARY = canary("token")
COOKIE_CANARY = canary("token")
BODY_CANARY = canary("body")
EXC_CANARY = canary("account_id")
ALL_CANARIES = (PATH_CANARY, QUERY_CANARY, HEADER_CANARY, COOKIE_CANARY, BODY_CANARY, EXC_CANARY)


class Gunicorn:
    def __init__(self) -> None:
        self.sock = listening_socket()
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = Server(
            [
                venv_bin("gunicorn"),
                "--preload",
                "--workers",
                str(WORKERS),
                "--bind",
                f"fd://{self.sock.fileno()}",
                "--graceful-timeout",
                "5",
                "flask_service:app",
            ],
            env=child_env(),
            cwd=EXAMPLES,
            pass_fds=(self.sock.fileno(),),
        )

    def worker_pids(self) -> set[int]:
        return {
            r["pid"]
            for r in self.server.records()
            if r.get("event") == "Booting worker with pid: %s"
        }


@pytest.fixture(scope="module")
def gunicorn() -> Iterator[Gunicorn]:
    srv = Gunicorn()
    try:
        srv.server.wait_for(
            lambda rs: (
                sum(1 for r in rs if r.get("event") == "Booting worker with pid: %s") >= WORKERS
            )
        )
        yield srv
    finally:
        srv.server.stop()
        srv.sock.close()


def _access(records: list[dict[str, Any]], rid: str) -> list[dict[str, Any]]:
    return [r for r in records if r.get("event") == "http_request" and r.get("request_id") == rid]


def _wait_access(gu: Gunicorn, rid: str) -> dict[str, Any]:
    records = gu.server.wait_for(lambda rs: bool(_access(rs, rid)), timeout=20)
    (found,) = _access(records, rid)
    return found


sent: list[str] = []


def _get(gu: Gunicorn, path: str, rid: str, **kw: Any) -> httpx.Response:
    sent.append(rid)
    return httpx.get(
        f"{gu.base}{path}", headers={"X-Request-ID": rid, **kw.pop("headers", {})}, timeout=20, **kw
    )


class TestGunicorn:
    def test_access_record_with_the_flask_rule(self, gunicorn: Gunicorn) -> None:
        """One access record per request with the rule template; handler records carry id, route."""
        r = _get(
            gunicorn,
            "/items/7",
            "wsgi-one",
            params={"q": QUERY_CANARY},
            headers={"X-Leak": HEADER_CANARY, "User-Agent": HEADER_CANARY},
            cookies={"session": COOKIE_CANARY},
        )
        assert r.status_code == 200
        assert r.headers["x-request-id"] == "wsgi-one"
        access = _wait_access(gunicorn, "wsgi-one")
        assert access["route"] == "/items/<int:item_id>"
        assert access["method"] == "GET"
        assert access["status"] == 200
        assert access["response_size"] == len(r.content)
        inside = [
            r
            for r in gunicorn.server.records()
            if r.get("request_id") == "wsgi-one"
            and r.get("event") in ("item_read", "item_read_stdlib")
        ]
        assert len(inside) == 2
        assert all(r["route"] == "/items/<int:item_id>" and r["item_id"] == 7 for r in inside)

    def test_unmatched_and_failing_routes(self, gunicorn: Gunicorn) -> None:
        """404 gets the marker; an exception gets status 500 and its type, never its message."""
        assert _get(gunicorn, f"/none/{PATH_CANARY}", "wsgi-404").status_code == 404
        assert _get(gunicorn, f"/fail/{EXC_CANARY}", "wsgi-500").status_code == 500
        assert _wait_access(gunicorn, "wsgi-404")["route"] == "<unmatched>"
        failed = _wait_access(gunicorn, "wsgi-500")
        assert failed["status"] == 500
        assert failed["route"] == "/fail/<name>"

    def test_body_never_logged(self, gunicorn: Gunicorn) -> None:
        """A POST body is read, never logged."""
        sent.append("wsgi-body")
        r = httpx.post(
            f"{gunicorn.base}/items/3/notes",
            content=BODY_CANARY.encode(),
            headers={"X-Request-ID": "wsgi-body"},
            timeout=20,
        )
        assert r.status_code == 200
        assert _wait_access(gunicorn, "wsgi-body")["method"] == "POST"

    def test_records_from_every_worker_arrive(self, gunicorn: Gunicorn) -> None:
        """Concurrent requests reach every worker; each worker's records arrive with its pid."""
        workers = gunicorn.worker_pids()
        assert len(workers) == WORKERS
        seen: set[int] = set()
        for round_ in range(8):
            ids = [f"spread-{round_}-{i}" for i in range(WORKERS * 4)]
            with ThreadPoolExecutor(WORKERS * 4) as pool:
                codes = list(
                    pool.map(
                        lambda rid: _get(gunicorn, f"/slow/{len(rid)}/80", rid).status_code, ids
                    )
                )
            assert codes == [200] * len(ids)
            for rid in ids:
                seen.add(_wait_access(gunicorn, rid)["pid"])
            if seen >= workers:
                break
        assert seen == workers

    def test_worker_killed_mid_request(self, gunicorn: Gunicorn) -> None:
        """A worker killed mid-request: its records so far arrive; the master reports it."""
        with ThreadPoolExecutor(1) as pool:
            fut = pool.submit(
                lambda: httpx.get(
                    f"{gunicorn.base}/slow/1/8000",
                    headers={"X-Request-ID": "wsgi-killed"},
                    timeout=30,
                )
            )
            records = gunicorn.server.wait_for(
                lambda rs: any(
                    r.get("request_id") == "wsgi-killed" and r["event"] == "slow_started"
                    for r in rs
                ),
                timeout=20,
            )
            (started,) = [r for r in records if r.get("request_id") == "wsgi-killed"]
            os.kill(started["pid"], signal.SIGKILL)
            with pytest.raises(httpx.HTTPError):
                fut.result(timeout=30)
        gunicorn.server.wait_for(
            lambda rs: any(
                r.get("event") == "Worker (pid:%s) was sent %s! Perhaps out of memory?" for r in rs
            ),
            timeout=20,
        )
        # The master replaces it.
        gunicorn.server.wait_for(lambda rs: len(gunicorn.worker_pids()) >= WORKERS + 1, timeout=30)


def test_zz_nothing_lost_or_duplicated_at_exit(gunicorn: Gunicorn) -> None:
    """After a graceful stop: one access record per request sent, every line JSON, no canary."""
    gunicorn.server.stop(signal.SIGTERM)
    records = gunicorn.server.records()
    events = [r["event"] for r in records]
    assert "Shutting down: %s" in events
    for rid in sent:
        assert len(_access(records, rid)) == 1, rid
    assert gunicorn.server.non_json_lines() == []
    assert find_leaks(gunicorn.server.text, *ALL_CANARIES, sink="gunicorn stdout/stderr") == []
    assert not any(
        r["event"] == "<non-constant-event>"
        for r in records
        if str(r.get("logger")).startswith("gunicorn")
    )


class TestForms:
    """The middleware's forms, in-process (werkzeug's test client)."""

    @staticmethod
    def _flask() -> Flask:
        app = Flask("forms")

        @app.get("/pages/<int:page_id>")
        def page(page_id: int) -> str:
            return "ok"

        return app

    def test_wrapping_the_app_gets_the_rule(self, console: Any) -> None:
        """Wrapping the Flask app itself still yields the rule template."""
        safelog.configure(service="svc", console=console.stream)
        client = Client(safelog.wsgi.SafelogMiddleware(self._flask()))
        client.get("/pages/3", buffered=True)
        (record,) = [r for r in console.records() if r["event"] == "http_request"]
        assert record["route"] == "/pages/<int:page_id>"

    def test_wrapping_wsgi_app_gets_the_rule(self, console: Any) -> None:
        """Wrapping app.wsgi_app yields the rule template."""
        safelog.configure(service="svc", console=console.stream)
        app = self._flask()
        app.wsgi_app = safelog.wsgi.SafelogMiddleware(app.wsgi_app)  # type: ignore[method-assign]
        Client(app).get("/pages/3", buffered=True)
        (record,) = [r for r in console.records() if r["event"] == "http_request"]
        assert record["route"] == "/pages/<int:page_id>"

    def test_plain_wsgi_app_gets_the_marker(self, console: Any) -> None:
        """A WSGI app with no routing information: the unmatched marker, never the path."""

        def plain(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            start_response("204 No Content", [])
            return []

        safelog.configure(service="svc", console=console.stream)
        Client(safelog.wsgi.SafelogMiddleware(plain)).get(f"/x/{PATH_CANARY}", buffered=True)
        (record,) = [r for r in console.records() if r["event"] == "http_request"]
        assert record["route"] == "<unmatched>"
        assert record["status"] == 204
        assert PATH_CANARY not in console.text

    def test_app_raising_before_start_response(self, console: Any) -> None:
        """An app raising before it responds: status 500 and the type recorded; re-raised."""

        def broken(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            raise ValueError(EXC_CANARY)

        safelog.configure(service="svc", console=console.stream)
        with pytest.raises(ValueError, match=EXC_CANARY):
            Client(safelog.wsgi.SafelogMiddleware(broken)).get("/", buffered=True)
        (record,) = [r for r in console.records() if r["event"] == "http_request"]
        assert record["status"] == 500
        assert record["error"]["type"] == "ValueError"
        assert EXC_CANARY not in console.text
        # Nothing of the request outlives it.
        safelog.get_logger("t").info("after")
        assert "request_id" not in console.records()[-1]

    def test_bad_header_option_fails_fast(self) -> None:
        """A header name that is not one fails at construction, naming the option."""
        with pytest.raises(safelog.ConfigurationError, match="request_id_header"):
            safelog.wsgi.SafelogMiddleware(lambda e, s: [], request_id_header="X Bad\n")
