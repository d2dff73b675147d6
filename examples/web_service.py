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

Run it: `python examples/web_service.py`. It starts an embedded CloudWatch
Logs (a moto server on 127.0.0.1), drives the app with Flask's test client,
ships the logs there through safelog, reads the log group back and prints
what CloudWatch stored, with a verdict on the planted customer content. The
policy is `examples/pyproject.toml`.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
import uuid

from pathlib import Path

import structlog

from flask import Flask, Response, g, jsonify, request

import safelog

from safelog._embedded import EmbeddedMoto


HERE = Path(__file__).resolve().parent
log = safelog.get_logger(__name__)
RENDERERS = {"pdf": "application/pdf", "html": "text/html"}


def create_app() -> Flask:
    app = Flask(__name__)

    @app.before_request
    def bind_request_context() -> None:
        g.started = time.perf_counter()
        structlog.contextvars.clear_contextvars()
        # Header values are customer input: request_id must pass its Id kind,
        # and tenant leaves the process only as a Hashed pseudonym.
        structlog.contextvars.bind_contextvars(  # safelog: ignore[SL207] -- Id and Hashed kinds
            request_id=request.headers.get("X-Request-ID") or str(uuid.uuid4()),
            tenant=request.headers.get("X-Tenant"),
        )

    @app.after_request
    def log_request(response: Response) -> Response:
        log.info(
            "request_finished",
            method=request.method,
            route=request.url_rule.rule if request.url_rule else None,
            status=response.status_code,
            duration_ms=(time.perf_counter() - g.started) * 1000,
        )
        return response

    @app.get("/pages/<int:page_id>")
    def get_page(page_id: int) -> Response:
        log.info("page_read", page_id=page_id)
        return jsonify(id=page_id)

    @app.post("/pages/<int:page_id>/export")
    def export_page(page_id: int) -> Response | tuple[Response, int]:
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

    return app


def read_back(endpoint_url: str, log_group: str) -> list[str]:
    """Every message CloudWatch stored in *log_group*, oldest first."""
    import boto3

    logs = boto3.client("logs", endpoint_url=endpoint_url, region_name="us-east-1")
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=log_group)
    return [e["message"] for page in pages for e in page["events"]]


def serve(app: Flask) -> None:
    """Drive the app as clients would, with planted customer content."""
    client = app.test_client()
    headers = {"X-Request-ID": "req-0001", "X-Tenant": TENANT}
    client.get("/pages/7", headers=headers)
    client.post("/pages/7/export", json={"copies": "2", "title": TITLE}, headers=headers)
    client.post("/pages/7/export", json={"copies": f"three {TITLE}"}, headers=headers)
    client.post("/pages/7/export", json={"copies": "1", "format": TITLE}, headers=headers)


# Planted customer content: none of it may reach the logs.
TITLE = "Zoë's salary review — confidential"
TENANT = "acme-corp-customer-4711"


def main() -> int:
    # In production the key comes from your secret store, and the AWS
    # credentials from the usual chain; the embedded CloudWatch takes any.
    os.environ.setdefault("SAFELOG_HASH_KEY", secrets.token_hex(32))
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with EmbeddedMoto() as cloudwatch:
        safelog.configure(
            pyproject=HERE / "pyproject.toml",  # service, level and fields
            console=False,
            cloudwatch=safelog.CloudWatch(
                log_group="/examples/pages",
                endpoint_url=cloudwatch.endpoint_url,  # omit for real AWS
                region="us-east-1",
            ),
        )
        serve(create_app())
        problems = safelog.self_check()
        safelog.shutdown()  # flushes to CloudWatch
        lines = read_back(cloudwatch.endpoint_url, "/examples/pages")

    print("What CloudWatch stored:")
    for line in lines:
        print(line)
    leaked = [p for p in (TITLE, "three", TENANT) if any(p in line for line in lines)]
    print(f"records: {len(lines)}, self-check problems: {len(problems)}")
    print("planted customer content in the logs:", "FOUND" if leaked else "none")
    return 1 if leaked or problems else 0


if __name__ == "__main__":
    sys.exit(main())
