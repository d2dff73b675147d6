"""
A background worker whose logs carry metadata only.

Jobs carry customer content (titles, recipients). The worker threads bind the
job's metadata with structlog's contextvars, retry failed jobs, and log
through both structlog and a stdlib logger (as a library would). What
survives: the declared fields, event names, call sites and exception types.
What does not: the titles, the addresses, the exception messages that quote
them, and the stdlib `%`-arguments.

Run it: `python examples/worker.py`. It ships to an embedded CloudWatch Logs
(a moto server on 127.0.0.1), reads the log group back and prints what
CloudWatch stored. The policy is `examples/pyproject.toml`.
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import sys
import threading
import time
import uuid

from dataclasses import dataclass, field
from pathlib import Path

import structlog

import safelog

from safelog._embedded import EmbeddedMoto


HERE = Path(__file__).resolve().parent
log = safelog.get_logger(__name__)
# A stdlib logger, as the libraries a worker uses have.
renderer_log = logging.getLogger("worker.renderer")


@dataclass
class Job:
    title: str
    recipient: str
    job_id: uuid.UUID = field(default_factory=uuid.uuid4)
    attempt: int = 1


class RenderError(Exception):
    pass


def render(job: Job) -> int:
    """Pretend to render a document; fails on the first attempt of odd titles."""
    renderer_log.info("rendering %s for %s", job.title, job.recipient)
    if len(job.title) % 2 and job.attempt == 1:
        # The message quotes customer content, as real exceptions do.
        msg = f"cannot lay out {job.title!r}"
        raise RenderError(msg)
    return len(job.title) // 10 + 1


def work(jobs: queue.Queue[Job | None], retries: queue.Queue[Job]) -> None:
    while (job := jobs.get()) is not None:
        structlog.contextvars.bind_contextvars(job_id=job.job_id, queue="exports")
        started = time.perf_counter()
        try:
            pages = render(job)
        except RenderError:
            log.exception("job_failed", attempt=job.attempt, outcome="retrying")
            job.attempt += 1
            retries.put(job)
        else:
            log.info(
                "job_done",
                attempt=job.attempt,
                page_count=pages,
                outcome="ok",
                duration_ms=(time.perf_counter() - started) * 1000,
            )
        finally:
            structlog.contextvars.clear_contextvars()


def run_jobs(todo: list[Job], threads: int = 2) -> None:
    while todo:
        jobs: queue.Queue[Job | None] = queue.Queue()
        retries: queue.Queue[Job] = queue.Queue()
        for job in todo:
            jobs.put(job)
        workers = [threading.Thread(target=work, args=(jobs, retries)) for _ in range(threads)]
        for _ in workers:
            jobs.put(None)
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        todo = list(retries.queue)
        if todo:
            log.warning("jobs_retried", page_count=len(todo))


def read_back(endpoint_url: str, log_group: str) -> list[str]:
    """Every message CloudWatch stored in *log_group*, oldest first."""
    import boto3

    logs = boto3.client("logs", endpoint_url=endpoint_url, region_name="us-east-1")
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=log_group)
    return [e["message"] for page in pages for e in page["events"]]


def main() -> int:
    # In production the key comes from your secret store, and the AWS
    # credentials from the usual chain; the embedded CloudWatch takes any.
    os.environ.setdefault("SAFELOG_HASH_KEY", secrets.token_hex(32))
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

    # Planted customer content: none of it may reach the logs.
    titles = ["Board minutes — Ünal & Ødegaard", "Q3 layoffs plan (draft)", "Zoë's offer letter"]
    recipient = "zoe.customer@example.com"

    with EmbeddedMoto() as cloudwatch:
        safelog.configure(
            pyproject=HERE / "pyproject.toml",
            console=False,
            cloudwatch=safelog.CloudWatch(
                log_group="/examples/worker",
                stream="{service}/worker/{pid}",
                endpoint_url=cloudwatch.endpoint_url,  # omit for real AWS
                region="us-east-1",
            ),
        )
        run_jobs([Job(title=t, recipient=recipient) for t in titles])
        safelog.shutdown()  # flushes to CloudWatch
        lines = read_back(cloudwatch.endpoint_url, "/examples/worker")

    print("What CloudWatch stored:")
    for line in lines:
        print(line)
    leaked = [p for p in (*titles, recipient) if any(p in line for line in lines)]
    print(f"records: {len(lines)}")
    print("planted customer content in the logs:", "FOUND" if leaked else "none")
    return 1 if leaked else 0


if __name__ == "__main__":
    sys.exit(main())
