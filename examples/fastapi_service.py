"""
A FastAPI service under uvicorn whose logs carry metadata only.

Run it: ``uvicorn fastapi_service:app`` from ``examples/``. ``configure()``
runs when uvicorn imports this module, before the app serves anything; the
middleware binds a request id, the method and the trace ids to every record
logged while a request is handled (safelog's, stdlib's, third-party's), and
emits one ``http_request`` record per request with the route *template*.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI, Request

import safelog
import safelog.asgi


# The one line that sets logging up, at import: before the first request.
# uvicorn/gunicorn set up their own logging handlers before they import this
# module: configure() takes them over (one `stdlib_handlers_taken_over` record
# names them), so their start-up and access lines go through the chain too.
safelog.configure(
    service="items-api",
    fields={"item_id": safelog.Int(min=0), "outcome": safelog.Enum("ok", "failed")},
)

log = safelog.get_logger(__name__)
stdlib_log = logging.getLogger(__name__)

app = FastAPI()
app.add_middleware(safelog.asgi.SafelogMiddleware)


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None) -> dict[str, int]:
    log.info("item_read", item_id=item_id)
    await asyncio.sleep(0.01)  # other requests run here: context must not bleed
    stdlib_log.info("item_read_stdlib", extra={"item_id": item_id})
    return {"item_id": item_id}


@app.post("/items/{item_id}/notes")
async def add_note(item_id: int, request: Request) -> dict[str, str]:
    await request.body()  # customer text: never logged
    log.info("note_added", item_id=item_id)
    return {"outcome": "ok"}


@app.get("/fail/{name}")
async def fail(name: str) -> None:
    log.info("about_to_fail", outcome="failed")
    msg = f"could not handle {name}"
    raise RuntimeError(msg)
