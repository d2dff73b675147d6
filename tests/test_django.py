"""safelog.django: examples/django_service under Django's own server (manage.py runserver)."""

from __future__ import annotations

import signal
import time

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from safelog.testing import canary, find_leaks
from servers import EXAMPLES, Server, bound_port, child_env, python


PATH_CANARY = canary("account_id")
QUERY_CANARY = canary("text")
HEADER_CANARY = canary("token")
COOKIE_CANARY = canary("token")
BODY_CANARY = canary("body")
EXC_CANARY = canary("account_id")
ALL_CANARIES = (PATH_CANARY, QUERY_CANARY, HEADER_CANARY, COOKIE_CANARY, BODY_CANARY, EXC_CANARY)
PROJECT = EXAMPLES / "django_service"


class Runserver:
    def __init__(self) -> None:
        port = bound_port()
        self.base = f"http://127.0.0.1:{port}"
        env = child_env(DJANGO_SETTINGS_MODULE="django_service.settings")
        env["PYTHONPATH"] = f"{PROJECT}:{env['PYTHONPATH']}"
        self.server = Server(
            [python(), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            env=env,
            cwd=PROJECT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.proc.poll() is not None:
                msg = f"runserver exited:\n{self.server.text[-4000:]}"
                raise AssertionError(msg)
            try:
                httpx.get(f"{self.base}/items/0", headers={"X-Request-ID": "ready"}, timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
            else:
                return
        msg = f"runserver did not answer:\n{self.server.text[-4000:]}"
        raise AssertionError(msg)


@pytest.fixture(scope="module")
def django_server() -> Iterator[Runserver]:
    srv = Runserver()
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.server.stop()


def _access(records: list[dict[str, Any]], rid: str) -> list[dict[str, Any]]:
    return [r for r in records if r.get("event") == "http_request" and r.get("request_id") == rid]


def _wait_access(srv: Runserver, rid: str) -> dict[str, Any]:
    records = srv.server.wait_for(lambda rs: bool(_access(rs, rid)), timeout=20)
    (found,) = _access(records, rid)
    return found


class TestRunserver:
    def test_route_as_django_writes_it(self, django_server: Runserver) -> None:
        """The access record and the view's records carry Django's route, never the path."""
        r = httpx.get(
            f"{django_server.base}/items/7",
            params={"q": QUERY_CANARY},
            headers={
                "X-Request-ID": "dj-one",
                "X-Leak": HEADER_CANARY,
                "User-Agent": HEADER_CANARY,
            },
            cookies={"sessionid": COOKIE_CANARY},
            timeout=20,
        )
        assert r.status_code == 200
        assert r.headers["x-request-id"] == "dj-one"
        access = _wait_access(django_server, "dj-one")
        assert access["route"] == "items/<int:item_no>"
        assert access["method"] == "GET"
        assert access["status"] == 200
        assert access["response_size"] == len(r.content)
        inside = [
            r
            for r in django_server.server.records()
            if r.get("request_id") == "dj-one" and r["event"] in ("item_read", "item_read_stdlib")
        ]
        assert len(inside) == 2
        assert all(r["route"] == "items/<int:item_no>" and r["item_id"] == 7 for r in inside)

    def test_unmatched_failing_and_body(self, django_server: Runserver) -> None:
        """404 gets the marker, a failing view 500 with its route; a body is never logged."""
        base = django_server.base
        assert (
            httpx.get(f"{base}/no/{PATH_CANARY}", headers={"X-Request-ID": "dj-404"}).status_code
            == 404
        )
        assert (
            httpx.get(f"{base}/fail/{EXC_CANARY}", headers={"X-Request-ID": "dj-500"}).status_code
            == 500
        )
        r = httpx.post(
            f"{base}/items/3/notes",
            content=BODY_CANARY.encode(),
            headers={"X-Request-ID": "dj-body"},
        )
        assert r.status_code == 200
        assert _wait_access(django_server, "dj-404")["route"] == "<unmatched>"
        failed = _wait_access(django_server, "dj-500")
        assert (failed["status"], failed["route"], failed["level"]) == (
            500,
            "fail/<str:name>",
            "error",
        )
        assert _wait_access(django_server, "dj-body")["route"] == "items/<int:item_no>/notes"
        # Django's own error record: its template, the exception's type, no message.
        (django_error,) = [
            r
            for r in django_server.server.records()
            if r.get("logger") == "django.request" and r.get("request_id") == "dj-500"
        ]
        assert django_error["event"] == "%s: %s"
        assert django_error["error"]["type"] == "RuntimeError"

    def test_djangos_handlers_taken_over(self, django_server: Runserver) -> None:
        """configure() in wsgi.py takes Django's LOGGING handlers over and names them."""
        (taken,) = [
            r for r in django_server.server.records() if r["event"] == "stdlib_handlers_taken_over"
        ]
        assert "logging.StreamHandler on django.server" in taken["handlers_taken_over"]
        access_lines = [
            r for r in django_server.server.records() if r.get("logger") == "django.server"
        ]
        assert access_lines
        assert all(r["event"] == '"%s" %s %s' and "request_id" not in r for r in access_lines)


def test_zz_no_canary_in_any_output(django_server: Runserver) -> None:
    """After the requests above and a stop: no canary on stdout or stderr."""
    django_server.server.stop(signal.SIGINT)
    assert (
        find_leaks(django_server.server.text, *ALL_CANARIES, sink="runserver stdout/stderr") == []
    )
