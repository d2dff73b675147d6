"""An export worker written against stdlib logging, with the usual mistakes."""

import logging
import logging as lg
import traceback
from logging import getLogger as make_logger
from logging import warning

logger = logging.getLogger(__name__)
audit = make_logger("exports.audit")
root_log = lg.getLogger()
adapter = logging.LoggerAdapter(logger, {})

EXPORT_STARTED = "export.started"
EXPORT_DONE = "export.finished"
PICKED = "export.picked" if __debug__ else "export.picked.debug"


class ExportError(Exception):
    pass


def start_export(export, user, page_count):
    logger.info(EXPORT_STARTED)  # ok
    logger.info("export.started", extra={"request_id": export.request_id})  # declared: passes the policy
    logger.info(PICKED)  # ok
    logger.debug("pages to export: %d", page_count)  # ok
    logger.info(f"export {export.id} started by {user.email}")  # expect: SL101
    logger.info("export %s started" % export.id)  # expect: SL102
    logger.info("export {} started".format(export.id))  # expect: SL103
    logger.info("export started for " + user.name)  # expect: SL104
    logger.info(", ".join(export.titles))  # expect: SL104
    audit.info("export.audit", extra={"user_id": user.id, "tenant": user.tenant})  # declared: passes the policy
    audit.info("export.audit", extra={"email": user.email})  # expect: SL302
    audit.info("export.audit", extra=export.metadata)  # expect: SL208
    audit.info("export.audit", extra={**export.metadata})  # expect: SL208
    audit.warning("export.audit", extra=dict(page_count=page_count))  # declared: passes the policy
    audit.warning("export.audit", extra=dict(title=export.title))  # expect: SL302
    lg.info("export.queued")  # ok
    lg.info(f"queued {export.title}")  # expect: SL101
    warning("export.slow")  # ok
    warning("slow export of %s" % export.title)  # expect: SL102
    root_log.info("export.root")  # ok
    adapter.info("export.adapter")  # ok
    adapter.info(export.title)  # expect: SL105
    logging.getLogger("exports").info("export.inline")  # ok
    logging.getLogger("exports").info(export.description)  # expect: SL105
    logger.log(logging.INFO, "export.level")  # ok
    logger.log(logging.INFO, f"export level {export.id}")  # expect: SL101


def run_export(export):
    message = "export.ran"
    logger.info(message)  # ok
    detail = export.describe()
    logger.info(detail)  # expect: SL105
    logger.info(export.summary())  # expect: SL105
    try:
        export.run()
    except ExportError as e:
        logger.error(e)  # expect: SL106
        logger.exception(e)  # expect: SL106
        logger.error("export.failed", exc_info=True)  # ok
        logger.exception("export.failed")  # ok
        logger.error("export failed: %s", e)  # expect: SL107
        logger.error("export.failed", exc_info=e)  # ok
        logger.warning("export failed: %s", str(e))  # expect: SL108
        logger.warning("export failed: %r", repr(e))  # expect: SL108
        logger.warning("export failed: %s", e.args)  # expect: SL108
        logger.warning("export failed: %s", e.args[0])  # expect: SL108
        logger.error("export.failed %s", traceback.format_exc())  # expect: SL108
        logger.error(traceback.format_exc())  # expect: SL105
        logger.error("export.failed", extra={"error": str(e)})  # expect: SL302, SL201
    except OSError as err:
        logger.error("export.io_error", extra={"attempt": export.attempt})  # declared: passes the policy
        logger.error("export.io_error: %s", err.strerror)  # expect: SL108
        logger.error("export.io_error: %s", vars(err))  # expect: SL108
        logger.error("export io error %s", export.__dict__)  # expect: SL108
    logger.info(EXPORT_DONE, extra={"page_count": export.page_count})  # declared: passes the policy


def report(export, level):
    logger.log(level, "export.report")  # ok
    logger.debug("export.report page_count=%d", export.page_count)  # ok
    logger.warning(msg="export.report")  # ok
    logger.warning(msg=f"report for {export.title}")  # expect: SL101
    logger.info("export.report", stack_info=True, stacklevel=2)  # ok


class ExportWorker:
    def __init__(self, name):
        self.logger = logging.getLogger(name)
        self._events = make_logger("worker.events")

    def work(self, job):
        self.logger.info("worker.job")  # ok
        self.logger.info("worker job %s" % job.id)  # expect: SL102
        self._events.debug("worker.event")  # ok
        self._events.debug(job.name)  # expect: SL105
        logging.info("worker.module_level")  # ok
        logging.info(job.title)  # expect: SL105
