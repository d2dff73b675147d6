"""
A Celery worker whose logs carry metadata only.

Run it: ``celery -A celery_service worker`` from ``examples/`` (set
``CELERY_EXAMPLE_DIR`` to a directory for the filesystem broker). ``configure()``
runs when the worker imports this module, before the pool forks;
``safelog.celery.install(app)`` keeps Celery from taking logging over and
binds task name, task id and retries to every record a task logs.
"""

from __future__ import annotations

import logging
import os

from pathlib import Path
from typing import Any

from celery import Celery

import safelog
import safelog.celery


safelog.configure(
    service="items-worker",
    fields={"item_id": safelog.Int(min=0), "outcome": safelog.Enum("ok", "failed")},
)

_dir = Path(os.environ.get("CELERY_EXAMPLE_DIR", "/tmp/safelog-celery-example"))
for sub in ("queue", "processed"):
    (_dir / sub).mkdir(parents=True, exist_ok=True)

app = Celery("celery_service")
app.conf.update(
    broker_url="filesystem://",
    broker_transport_options={
        "data_folder_in": str(_dir / "queue"),
        "data_folder_out": str(_dir / "queue"),
        "processed_folder": str(_dir / "processed"),
        "polling_interval": 0.1,
    },
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
)
safelog.celery.install(app)

log = safelog.get_logger(__name__)
stdlib_log = logging.getLogger(__name__)


@app.task  # type: ignore[untyped-decorator]
def read_item(item_id: int, note: str) -> int:
    # `note` is customer text: never logged.
    log.info("item_read", item_id=item_id)
    stdlib_log.info("item_read_stdlib", extra={"item_id": item_id})
    return len(note)


@app.task(bind=True, max_retries=3)  # type: ignore[untyped-decorator]
def flaky(self: Any, item_id: int, note: str) -> None:
    log.info("flaky_attempt", item_id=item_id)
    if self.request.retries < 1:
        raise self.retry(exc=ValueError(note), countdown=0)


@app.task  # type: ignore[untyped-decorator]
def fail(note: str) -> None:
    log.info("about_to_fail", outcome="failed")
    msg = f"could not handle {note}"
    raise RuntimeError(msg)
