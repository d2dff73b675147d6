"""A page service written against structlog and safelog, mistakes included."""

import enum
import json
import pprint
import traceback
from dataclasses import asdict

import structlog
import structlog as sl
from structlog import get_logger as gl
from structlog.contextvars import bind_contextvars

import safelog
from safelog import get_logger

log = structlog.get_logger()
other = gl("pages")
svc = get_logger(__name__)
alt = sl.get_logger(__name__)
plain = safelog.get_logger(__name__)


class Events(enum.Enum):
    PAGE_SAVED = "page.saved"
    PAGE_DELETED = "page.deleted"


class PageService:
    EVENT_RENDERED = "page.rendered"

    def __init__(self, tenant):
        self.log = structlog.get_logger().bind(tenant=tenant)
        self.sink = safelog.get_logger(__name__, tenant=tenant)
        self.audit_trail = gl("audit")

    def save(self, page, user, duration_ms):
        self.log.info("page.saved", page_count=1, duration_ms=duration_ms)  # ok
        self.log.info(Events.PAGE_SAVED, user_id=user.id)  # ok
        self.log.info(self.EVENT_RENDERED, route="/pages/{page_id}")  # ok
        self.log.info(PageService.EVENT_RENDERED)  # ok
        self.log.info(f"page {page.title} saved")  # expect: SL101
        self.log.info("page.saved", title=page.title)  # expect: SL301
        self.log.info("page.saved", body=page.body)  # expect: SL301, SL207
        self.sink.info("page.saved", status="ok")  # ok
        self.sink.info("page.saved", **page.fields)  # expect: SL208
        self.sink.info("page.saved", **{"status": "ok", "attempt": 1})  # ok
        self.sink.info("page.saved", **{"title": page.title})  # expect: SL301
        self.audit_trail.msg("page.audit", user_id=user.id)  # ok
        self.audit_trail.msg(page.title)  # expect: SL105
        self.sink.debug("page.saved", page=asdict(page))  # expect: SL301, SL205
        self.sink.debug("page.saved", status=json.dumps(page.meta))  # expect: SL206
        self.sink.debug("page.saved", status=pprint.pformat(page.meta))  # expect: SL206
        self.sink.debug("page.saved", status=page.model_dump())  # expect: SL205

    async def delete(self, page):
        await self.log.ainfo("page.deleted", item_count=1)  # ok
        await self.log.ainfo(f"deleted {page.title}")  # expect: SL101
        await self.log.aerror("page.delete_failed", exc_info=True)  # ok


def handle(job, user):
    bound = log.bind(job_id=job.id, attempt=job.attempt)  # ok
    bound.info("job.started")  # ok
    bound = bound.bind(queue=job.queue)  # ok
    bound.info("job.queued", item_count=len(job.items))  # ok
    bound.warning("job." + job.kind)  # expect: SL104
    detailed = bound.bind(customer=user.name)  # expect: SL301
    detailed.info("job.customer")  # ok
    nested = log.bind(job_id=job.id).new(attempt=2)  # ok
    nested.info("job.nested", retry=True)  # ok
    log.bind(user_id=user.id).info("job.inline")  # ok
    log.bind(user_id=user.id).info(job.describe())  # expect: SL105
    ctx = {"job_id": job.id}
    log.info("job.ctx", **ctx)  # expect: SL208
    log.bind(**ctx).info("job.ctx")  # expect: SL208
    bind_contextvars(request_id=job.request_id)  # ok
    bind_contextvars(email=user.email)  # expect: SL301
    structlog.contextvars.bind_contextvars(job_id=job.id)  # ok
    structlog.contextvars.bind_contextvars(payload=job.payload)  # expect: SL301
    other.info("job.other")  # ok
    other.info("job.other", error=repr(job))  # expect: SL301, SL202
    svc.info("job.svc", status="failed")  # ok
    svc.info("job.svc", status=f"{job!r}")  # expect: SL202
    alt.info("job.alt", tenant=user.tenant)  # ok
    alt.critical("job.alt {}".format(job.id))  # expect: SL103
    plain.info("job.plain", export_id=job.export_id)  # ok
    plain.fatal(job.error_text)  # expect: SL105
    structlog.get_logger().info("job.direct")  # ok
    structlog.get_logger(user=user.email).info("job.direct")  # expect: SL301
    safelog.get_logger(__name__, job_id=job.id).info("job.direct")  # ok


def validate(form, log_event):
    try:
        form.validate()
    except ValueError as exc:
        log.error("form.invalid", exc_info=True)  # ok
        log.error("form.invalid", status="failed", exc_info=exc)  # ok
        log.error("form.invalid", status=str(exc))  # expect: SL201
        log.error("form.invalid", status=f"{exc}")  # expect: SL201
        log.error("form.invalid", status=exc.errors())  # expect: SL203
        log.error("form.invalid", status=exc.__notes__)  # expect: SL203
        log.error("form.invalid", status=traceback.format_exc())  # expect: SL204
        log.error(exc)  # expect: SL106
        log.error(str(exc))  # expect: SL105
    log.info(log_event)  # expect: SL105
    event = "form.checked" if form.ok else "form.unchecked"
    log.info(event, status="ok")  # ok
    log.info(event="form.keyword")  # ok
    log.info(event=f"form {form.name}")  # expect: SL101


def lookup(name):
    log.info(name)  # expect: SL105
    log.info(None)  # expect: SL105
    log.info("lookup.done", item_count=len(name))  # ok
