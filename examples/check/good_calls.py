"""
The same log calls as bad_calls.py, written so that ``safelog check`` (and
safelog's runtime chain) let them through: constant events, declared fields
of checked kinds, exceptions via ``exc_info``. One section per code
(docs/check.md).
"""

from __future__ import annotations

import logging

from typing import Any

import structlog


log = structlog.get_logger()
logger = logging.getLogger(__name__)

PAGE_EXPORTED = "page_exported"


def examples(page: Any, request: Any, response: Any, outcome: Any) -> None:
    # --8<-- [start:sl101]
    log.info("page_exported", page_id=page.id)
    # --8<-- [end:sl101]
    # --8<-- [start:sl102]
    log.info("page_exported", page_id=page.id)
    # --8<-- [end:sl102]
    # --8<-- [start:sl103]
    logger.info("page_exported page_id=%d", page.id)  # the argument is dropped, never formatted
    # --8<-- [end:sl103]
    # --8<-- [start:sl104]
    log.info("page_exported", page_count=page.count)
    # --8<-- [end:sl104]
    # --8<-- [start:sl105]
    log.info(PAGE_EXPORTED)  # a module-level name bound only to a literal
    event = "page_exported" if outcome == "ok" else "page_export_failed"
    log.info(event, outcome=outcome)
    # --8<-- [end:sl105]
    try:
        page.export()
    except ValueError:
        # --8<-- [start:sl106]
        logger.exception("page_export_failed")
        # --8<-- [end:sl106]
        # --8<-- [start:sl107]
        logger.exception("page_export_failed")  # the type and frames, never the message
        # --8<-- [end:sl107]
        # --8<-- [start:sl108]
        logger.warning("page_export_failed", exc_info=True)
        # --8<-- [end:sl108]
        # --8<-- [start:sl201]
        log.exception("page_export_failed", outcome="failed")
        # --8<-- [end:sl201]
        # --8<-- [start:sl202]
        log.exception("page_export_failed", page_id=page.id)
        # --8<-- [end:sl202]
        # --8<-- [start:sl203]
        log.exception("page_export_failed", outcome="failed")
        # --8<-- [end:sl203]
        # --8<-- [start:sl204]
        log.exception("page_export_failed", page_count=page.count)
        # --8<-- [end:sl204]
    # --8<-- [start:sl205]
    log.info("page_loaded", page_id=page.id, page_count=page.count)
    # --8<-- [end:sl205]
    # --8<-- [start:sl206]
    log.info("page_loaded", page_id=page.id)
    # --8<-- [end:sl206]
    # --8<-- [start:sl207]
    log.info("page_saved", route="/pages/{page_id}", http_status=response.status_code)
    # --8<-- [end:sl207]
    # --8<-- [start:sl208]
    log.info("page_saved", page_id=page.id, outcome=outcome)
    # --8<-- [end:sl208]
    # --8<-- [start:sl301]
    log.info("page_saved", page_id=page.id)  # title is not declared: not logged at all
    # --8<-- [end:sl301]
    # --8<-- [start:sl302]
    log.info("page_saved", page_id=page.id)  # a declared keyword field, not extra=
    # --8<-- [end:sl302]
    # --8<-- [start:suppress]
    # A reviewed exception: the code, a reason, one line.
    log.info(request.endpoint)  # safelog: ignore[SL105] -- Flask endpoint names are function names
    # --8<-- [end:suppress]
