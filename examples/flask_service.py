"""
A Flask service under gunicorn whose logs carry metadata only.

Run it: ``gunicorn --preload -w 3 flask_service:app`` from ``examples/``.
With ``--preload`` gunicorn imports this module once, in the master, before
it forks the workers: ``configure()`` runs there, and every worker inherits
the configured chain (safelog re-stamps ``pid`` in each worker). Without
``--preload`` each worker imports the module and configures for itself,
which works the same way.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, request

import safelog
import safelog.wsgi


# uvicorn/gunicorn set up their own logging handlers before they import this
# module: configure() takes them over (one `stdlib_handlers_taken_over` record
# names them), so their start-up and access lines go through the chain too.
safelog.configure(
    service="items-flask",
    fields={"item_id": safelog.Int(min=0), "outcome": safelog.Enum("ok", "failed")},
)

log = safelog.get_logger(__name__)
stdlib_log = logging.getLogger(__name__)

app = Flask(__name__)
# Either form works; wrapping wsgi_app keeps `app` a Flask object.
app.wsgi_app = safelog.wsgi.SafelogMiddleware(app.wsgi_app)  # type: ignore[method-assign]


@app.get("/items/<int:item_id>")
def read_item(item_id: int) -> dict[str, int]:
    log.info("item_read", item_id=item_id)
    stdlib_log.info("item_read_stdlib", extra={"item_id": item_id})
    return {"item_id": item_id}


@app.post("/items/<int:item_id>/notes")
def add_note(item_id: int) -> dict[str, str]:
    request.get_data()  # customer text: never logged
    log.info("note_added", item_id=item_id)
    return {"outcome": "ok"}


@app.get("/slow/<int:item_id>/<int:ms>")
def slow(item_id: int, ms: int) -> dict[str, int]:
    log.info("slow_started", item_id=item_id)
    time.sleep(min(ms, 10_000) / 1000)
    return {"item_id": item_id}


@app.get("/fail/<name>")
def fail(name: str) -> dict[str, str]:
    log.info("about_to_fail", outcome="failed")
    msg = f"could not handle {name}"
    raise RuntimeError(msg)
