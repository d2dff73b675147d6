"""A module after moving its stdlib extra= fields to declared keyword fields."""

import logging

import structlog

import safelog


logger = logging.getLogger(__name__)
log = safelog.get_logger(__name__)
slog = structlog.get_logger("exports.worker")

EXPORT_DONE = "export.finished"


def run_export(export, request, attempt, elapsed_ms):
    log.info("export.started", request_id=request.id, export_id=export.id)  # ok
    log.info("export.attempt", attempt=attempt, retry=attempt > 1)  # ok
    logger.info("export %s attempt %d", export.id, attempt)  # ok
    bound = log.bind(request_id=request.id, tenant=request.tenant)
    bound.info("export.rendering", page_count=export.page_count)  # ok
    bound.debug("export.rendered", item_count=len(export.items))  # ok
    slog.info("export.queued", queue="exports", job_id=export.job_id)  # ok
    slog.warning("export.slow", duration_ms=elapsed_ms)  # ok
    try:
        export.upload()
    except OSError:
        log.exception("export.upload_failed", attempt=attempt)  # ok
        logger.error("export upload failed", exc_info=True)  # ok
        return
    log.info(EXPORT_DONE, status="ok", duration_ms=elapsed_ms)  # ok
    logger.info(EXPORT_DONE)  # ok


def handle(request, response):
    log.info("http.request", method=request.method, route="/exports")  # ok
    log.info("http.response", http_status=response.status_code)  # ok
    logger.warning("slow request: %s ms", response.elapsed_ms)  # ok
    slog.info("http.done", status="ok", request_id=request.id)  # ok
