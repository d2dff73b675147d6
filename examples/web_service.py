"""
A Flask service whose logs carry metadata only.

- `request_id` and `tenant` are bound per request with structlog's
  contextvars, and go through the same field policy as everything else
  (`tenant` leaves the process as a keyed pseudonym).
- `POST /pages/<id>/export` fails on bad customer input; the error record
  carries the exception's type and frames, never its message (which here
  holds the customer's text).
- Flask's own error log (`app.logger`, stdlib) goes through the chain too:
  Flask builds its message from the raw path at runtime, so the event becomes
  `<non-constant-event>` and the logger name, made from the app's import
  name, `<runtime-logger-name>`; the exception keeps only its type.

Run it: `python examples/web_service.py`. It drives the app with Flask's test
client, then prints what the log sink received and a verdict on the planted
customer content. The policy is `examples/pyproject.toml`.
"""

from __future__ import annotations

import io
import os
import sys
import time
import uuid

from pathlib import Path

import structlog

from flask import Flask, g, jsonify, request

import safelog


HERE = Path(__file__).resolve().parent
log = safelog.get_logger(__name__)
RENDERERS = {"pdf": "application/pdf", "html": "text/html"}


def create_app() -> Flask:
    app = Flask(__name__)

    # --8<-- [start:context]
    @app.before_request
    def bind_request_context() -> None:
        g.started = time.perf_counter()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=request.headers.get("X-Request-ID") or str(uuid.uuid4()),
            tenant=request.headers.get("X-Tenant"),
        )

    @app.after_request
    def log_request(response):  # type: ignore[no-untyped-def]
        log.info(
            "request_finished",
            method=request.method,
            route=request.url_rule.rule if request.url_rule else None,
            status=response.status_code,
            duration_ms=(time.perf_counter() - g.started) * 1000,
        )
        return response

    # --8<-- [end:context]
    @app.get("/pages/<int:page_id>")
    def get_page(page_id: int):  # type: ignore[no-untyped-def]
        log.info("page_read", page_id=page_id)
        return jsonify(id=page_id)

    # --8<-- [start:failing]
    @app.post("/pages/<int:page_id>/export")
    def export_page(page_id: int):  # type: ignore[no-untyped-def]
        body = request.get_json(force=True)
        try:
            # Customer input: int() puts the raw text into its error message.
            copies = int(body["copies"])
        except (KeyError, ValueError):
            log.exception("export_rejected", page_id=page_id, outcome="rejected")
            return jsonify(error="copies must be a number"), 400
        # Not caught: an unknown format is a 500, and Flask logs it through
        # app.logger ("Exception on %s [%s]" with the raw path as an argument).
        renderer = RENDERERS[body.get("format", "pdf")]
        log.info("export_started", page_id=page_id, page_count=copies)
        return jsonify(id=page_id, copies=copies, format=renderer)

    # --8<-- [end:failing]

    return app


def main() -> int:
    # In production the key comes from your secret store, via SAFELOG_HASH_KEY.
    # --8<-- [start:configure]
    os.environ.setdefault("SAFELOG_HASH_KEY", "example-only-key-do-not-use-in-prod")
    sink = io.StringIO()
    safelog.configure(pyproject=HERE / "pyproject.toml", console=sink)
    # --8<-- [end:configure]
    app = create_app()

    # Planted customer content: none of it may reach the logs.
    title = "Zoë's salary review — confidential"
    tenant = "acme-corp-customer-4711"
    client = app.test_client()
    headers = {"X-Request-ID": "req-0001", "X-Tenant": tenant}
    client.get("/pages/7", headers=headers)
    client.post("/pages/7/export", json={"copies": "2", "title": title}, headers=headers)
    client.post("/pages/7/export", json={"copies": f"three {title}"}, headers=headers)
    client.post("/pages/7/export", json={"copies": "1", "format": title}, headers=headers)

    problems = safelog.self_check()
    safelog.shutdown()

    lines = sink.getvalue().splitlines()
    print("What the log sink received:")
    for line in lines:
        print(line)
    leaked = [p for p in (title, "three", tenant) if any(p in line for line in lines)]
    print(f"records: {len(lines)}, self-check problems: {len(problems)}")
    print("planted customer content in the logs:", "FOUND" if leaked else "none")
    return 1 if leaked or problems else 0


if __name__ == "__main__":
    sys.exit(main())
