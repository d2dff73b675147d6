"""Flask-style handlers and an HTTP client: request and response content."""

import logging

import requests
import structlog
from flask import Flask, request

app = Flask(__name__)
log = structlog.get_logger("web")
_logger = logging.getLogger("web.client")


@app.post("/pages/<page_id>")
def update_page(page_id):
    log.info("page.update", route="/pages/{page_id}", method=request.method)  # ok
    log.info("page.update", request_id=request.headers.get("X-Request-Id"))  # expect: SL207
    log.info("page.update", route=request.path)  # expect: SL207
    log.info("page.update", status=request.json)  # expect: SL207
    log.info("page.update", status=request.get_json())  # expect: SL207
    log.info("page.update", status=request.form["status"])  # expect: SL207
    log.info("page.update", user_id=request.args.get("user"))  # expect: SL207
    log.info("page.update", route=request.url)  # expect: SL207
    log.info("page.update", status=request.get_data())  # expect: SL207
    app.logger.info("page.update.flask")  # ok
    app.logger.info("page update %s" % page_id)  # expect: SL102
    app.logger.warning("page.update.flask", extra={"route": "/pages/{page_id}"})  # declared: passes the policy
    return {"ok": True}


def call_api(session, url, payload):
    resp = session.post(url, json=payload)
    _logger.info("api.called")  # ok
    _logger.info("api.called status=%d", resp.status_code)  # ok
    _logger.debug("api response %s", resp.text)  # expect: SL108
    _logger.debug("api response %s", resp.content)  # expect: SL108
    _logger.debug("api response %s", resp.json())  # expect: SL108
    _logger.debug("api body %s", payload["body"])  # expect: SL108
    log.info("api.called", http_status=resp.status_code, duration_ms=resp.elapsed)  # ok
    log.info("api.called", http_status=resp.status_code, route=resp.url)  # expect: SL207
    log.info("api.called", status=resp.headers)  # expect: SL207
    r = requests.get(url, timeout=5)
    log.info("api.fetched", http_status=r.status_code)  # ok
    return resp
