# safelog: ignore-file -- every call here is a deliberately bad example for docs/check.md
"""
Log calls that ``safelog check`` reports, one section per code (docs/check.md).

Each reported line is marked ``# expect: CODE``; tests/test_check.py checks
the file gives exactly those findings once the suppression above is lifted.
"""

from __future__ import annotations

from typing import Any

import json
import logging
import traceback

import structlog


log = structlog.get_logger()
logger = logging.getLogger(__name__)


def examples(  # noqa: PLR0917 -- one parameter per thing a bad call leaks
    page: Any, request: Any, response: Any, user: Any, fields: Any, event_name: Any
) -> None:
    # --8<-- [start:sl101]
    log.info(f"exported page {page.title}")  # expect: SL101
    # --8<-- [end:sl101]
    # --8<-- [start:sl102]
    logger.info("exported page %s" % page.title)  # expect: SL102
    # --8<-- [end:sl102]
    # --8<-- [start:sl103]
    logger.info("exported page {}".format(page.title))  # expect: SL103
    # --8<-- [end:sl103]
    # --8<-- [start:sl104]
    log.info("exported page " + page.title)  # expect: SL104
    # --8<-- [end:sl104]
    # --8<-- [start:sl105]
    log.info(event_name)  # expect: SL105
    # --8<-- [end:sl105]
    try:
        page.export()
    except ValueError as exc:
        # --8<-- [start:sl106]
        logger.error(exc)  # expect: SL106
        # --8<-- [end:sl106]
        # --8<-- [start:sl107]
        logger.error("export failed: %s", exc)  # expect: SL107
        # --8<-- [end:sl107]
        # --8<-- [start:sl108]
        logger.warning("export failed: %s", repr(exc))  # expect: SL108
        # --8<-- [end:sl108]
        # --8<-- [start:sl201]
        log.error("export_failed", outcome=str(exc))  # expect: SL201
        # --8<-- [end:sl201]
        # --8<-- [start:sl202]
        log.error("export_failed", outcome=repr(exc))  # expect: SL202
        # --8<-- [end:sl202]
        # --8<-- [start:sl203]
        log.error("export_failed", outcome=exc.args[0])  # expect: SL203
        # --8<-- [end:sl203]
        # --8<-- [start:sl204]
        log.error("export_failed", outcome=traceback.format_exc())  # expect: SL204
        # --8<-- [end:sl204]
    # --8<-- [start:sl205]
    log.info("page_loaded", outcome=vars(page))  # expect: SL205
    # --8<-- [end:sl205]
    # --8<-- [start:sl206]
    log.info("page_loaded", outcome=json.dumps(page.meta))  # expect: SL206
    # --8<-- [end:sl206]
    # --8<-- [start:sl207]
    log.info("page_saved", route=request.path, http_status=response.status_code)  # expect: SL207
    # --8<-- [end:sl207]
    # --8<-- [start:sl208]
    log.info("page_saved", **fields)  # expect: SL208
    # --8<-- [end:sl208]
    # --8<-- [start:sl301]
    log.info("page_saved", page_id=page.id, title=page.title)  # expect: SL301
    # --8<-- [end:sl301]
    # --8<-- [start:sl302]
    logger.info("page_saved", extra={"owner_email": user.email})  # expect: SL302
    # --8<-- [end:sl302]
