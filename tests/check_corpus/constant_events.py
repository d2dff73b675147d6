"""Event names imported from another module, and constant folding (issues 16.5, 11.8)."""

import logging

import events
import structlog
from events import EXPORT_RETRIED, FOLDED, FROM_DATA, PAGE_EXPORTED, REBOUND, UNKNOWN
from events import PAGE_EXPORTED as EXPORTED
from missing_module import SOMETHING

log = structlog.get_logger()
logger = logging.getLogger(__name__)


def export(page_id: int, title: str) -> None:
    log.info(PAGE_EXPORTED, page_count=page_id)  # ok
    log.info(EXPORTED)  # ok
    log.info(EXPORT_RETRIED)  # ok
    log.info(FOLDED)  # ok
    log.info(events.PAGE_EXPORTED)  # ok
    logger.warning(events.EXPORT_RETRIED)  # ok
    log.info("constant " + "folding")  # ok
    logger.info("stdlib " "implicit " + "folding")  # ok
    log.info(FROM_DATA)  # expect: SL105
    log.info(REBOUND)  # expect: SL105
    log.info(UNKNOWN)  # expect: SL105
    log.info(SOMETHING)  # expect: SL105
    log.info(events.FROM_DATA)  # expect: SL105
    log.info("page " + title)  # expect: SL104
    log.info("a" + "b" + title)  # expect: SL104


def shadowed() -> None:
    PAGE_EXPORTED = input()  # noqa: N806 -- the point: a local shadows the import
    log.info(PAGE_EXPORTED)  # expect: SL105
