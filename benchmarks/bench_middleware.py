"""
Added cost per request of safelog's ASGI middleware, side by side in one run.

Three cases serve the same Starlette app (one route, a JSON response), called
in-process through ASGI (no sockets, so the figure is the middleware's own
work, not the network's):

- ``bare``: the app alone, no request logging;
- ``safelog``: ``safelog.asgi.SafelogMiddleware`` (request id, trace
  header, context bound for the request, one access record) to a null sink;
- ``structlog``: the common structlog pattern -- a middleware that clears and
  binds contextvars (request id, method) and logs one access record through
  ``merge_contextvars`` + orjson -- to a null sink.

Rounds are interleaved; each figure is a median over rounds; the ratios
compare the *added* cost (case minus bare) measured in the same round.

    .venv/bin/python benchmarks/bench_middleware.py
    .venv/bin/python benchmarks/bench_middleware.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import time
import uuid

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import safelog
import safelog.asgi


ASGI = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class NullText(io.TextIOBase):
    def write(self, s: str) -> int:
        return len(s)


class NullBytes:
    def write(self, b: bytes) -> int:
        return len(b)

    def flush(self) -> None:
        return None


async def item(request: Request) -> JSONResponse:
    return JSONResponse({"item_id": int(request.path_params["item_id"])})


def app() -> Starlette:
    return Starlette(routes=[Route("/items/{item_id:int}", item)])


def structlog_middleware(inner: ASGI) -> ASGI:
    log = structlog.wrap_logger(
        structlog.BytesLogger(NullBytes()),  # type: ignore[arg-type]
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
    )

    async def mw(scope: dict[str, Any], receive: Any, send: Any) -> None:
        structlog.contextvars.clear_contextvars()
        headers = dict(scope["headers"])
        structlog.contextvars.bind_contextvars(
            request_id=(headers.get(b"x-request-id") or str(uuid.uuid4()).encode()).decode(),
            method=scope["method"],
        )
        status = [0]

        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        started = time.perf_counter()
        await inner(scope, receive, wrapped)
        route = scope.get("route")
        log.info(
            "http_request",
            route=getattr(route, "path", None),
            status=status[0],
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    return mw


def scope(i: int) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": f"/items/{i}",
        "raw_path": f"/items/{i}".encode(),
        "query_string": b"q=customer+text",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"x-request-id", f"req-{i}".encode()),
            (b"traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            (b"user-agent", b"bench"),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
    }


async def run(target: ASGI, n: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    started = time.perf_counter()
    for i in range(n):
        await target(scope(i), receive, send)
    return (time.perf_counter() - started) / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--quick", action="store_true", help="a smoke run")
    args = ap.parse_args()
    rounds, n = (3, 300) if args.quick else (9, 3000)

    safelog.configure(service="bench", console=NullText())
    cases: dict[str, ASGI] = {
        "bare": app(),
        "safelog": safelog.asgi.SafelogMiddleware(app()),
        "structlog": structlog_middleware(app()),
    }
    per: dict[str, list[float]] = {k: [] for k in cases}
    added_ratio: list[float] = []
    loop = asyncio.new_event_loop()
    try:
        for name, target in cases.items():  # warm-up
            per[name].clear()
            loop.run_until_complete(run(target, n // 10))
        for _ in range(rounds):
            this: dict[str, float] = {}
            for name, target in cases.items():
                this[name] = loop.run_until_complete(run(target, n))
                per[name].append(this[name])
            added_ratio.append(
                (this["safelog"] - this["bare"]) / max(this["structlog"] - this["bare"], 1e-9)
            )
    finally:
        loop.close()
        safelog.shutdown()

    med = {k: statistics.median(v) for k, v in per.items()}
    print(f"rounds={rounds} requests/round={n} (in-process ASGI, null sinks)")
    for name, value in med.items():
        print(f"  {name:10s} {value * 1e6:8.1f} us/request")
    print(f"  added by safelog:   {(med['safelog'] - med['bare']) * 1e6:8.1f} us/request")
    print(f"  added by structlog: {(med['structlog'] - med['bare']) * 1e6:8.1f} us/request")
    print(f"  ratio safelog/bare total:        {med['safelog'] / med['bare']:.2f}x")
    print(f"  ratio added safelog/structlog:   {statistics.median(added_ratio):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
