"""
An AWS Lambda handler whose logs carry metadata only.

``configure()`` runs at import (the cold start); in Lambda it writes JSON
lines to stdout by default. The decorator binds the invocation's metadata
to every record and reports an escaping error by type only.
"""

from __future__ import annotations

import logging

from typing import Any

import safelog
import safelog.aws_lambda


safelog.configure(
    service="items-lambda",
    fields={"item_id": safelog.Int(min=0), "outcome": safelog.Enum("ok", "failed")},
)

log = safelog.get_logger(__name__)
stdlib_log = logging.getLogger(__name__)


@safelog.aws_lambda.log_invocation
def handler(event: Any, context: Any) -> dict[str, Any]:
    if not isinstance(event, dict):
        log.warning("unexpected_event", outcome="failed")
        return {"statusCode": 400}
    item_id = event.get("item_id")
    log.info("item_read", item_id=item_id)
    stdlib_log.info("item_read_stdlib", extra={"item_id": item_id})
    if event.get("fail"):
        msg = f"could not handle {event.get('note')}"
        raise ValueError(msg)
    return {"statusCode": 200}


@safelog.aws_lambda.log_invocation(sanitize_errors=False)
def handler_with_runtime_report(event: Any, context: Any) -> None:
    # Opt-out: the runtime's own report (type AND message) reaches the log.
    msg = f"could not handle {event.get('note')}"
    raise ValueError(msg)
