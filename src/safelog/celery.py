"""
Celery: task context on every record a task logs, one record per task run,
and Celery's logging left to safelog.

In the module that makes the Celery app::

    safelog.configure(service="worker", ...)
    app = Celery(...)
    safelog.celery.install(app)

`install` connects to Celery's signals:

- ``setup_logging``: with a receiver connected, the worker does not hijack
  the root logger nor redirect stdout/stderr, so every record (Celery's
  own "Task ... succeeded" lines included) keeps going through the chain;
- ``task_prerun``/``task_postrun``: ``task_name`` (a name of code),
  ``task_id`` and ``retries`` are bound to every record logged inside the
  task, in whichever pool process runs it; when it ends, one
  ``task_finished`` record carries them with ``task_state`` and
  ``runtime_ms`` (and, for a failure, the exception's type and frames,
  never its message);
- ``task_failure``: keeps the exception for that record.

Task arguments, return values and exception messages are never logged.
"""

from __future__ import annotations

import re
import sys
import threading
import time

from typing import Any

from . import _context
from ._context import RequestContext
from ._integration import emit


__all__ = ["install"]

_TASK_NAME = re.compile(r"[A-Za-z0-9_.:\-]{1,200}\Z")
_TASK_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}\Z")
MARKER_TASK_NAME = "<rejected:task_name>"


class _Running:
    __slots__ = ("ctx", "exc_info", "started", "token")

    def __init__(self, ctx: RequestContext, token: Any) -> None:
        self.ctx = ctx
        self.token = token
        self.started = time.perf_counter()
        self.exc_info: Any = None


# task id -> its run, for the process that runs it (prefork: one per child).
_running: dict[str, _Running] = {}
_lock = threading.Lock()
_states: frozenset[str] = frozenset()


def _task_fields(task_id: object, task: object) -> dict[str, Any]:
    name = getattr(task, "name", None)
    fields: dict[str, Any] = {
        "task_name": name if type(name) is str and _TASK_NAME.match(name) else MARKER_TASK_NAME,
        "task_id": task_id if type(task_id) is str and _TASK_ID.match(task_id) else None,
    }
    retries = getattr(getattr(task, "request", None), "retries", None)
    if type(retries) is int and retries >= 0:
        fields["retries"] = retries
    return fields


def _prerun(sender: object = None, task_id: object = None, task: object = None, **_: Any) -> None:
    try:
        ctx = RequestContext(_task_fields(task_id, task))
        token = _context.activate(ctx)
        if type(task_id) is str:
            with _lock:
                _running[task_id] = _Running(ctx, token)
    except Exception:  # noqa: BLE001 -- logging never breaks a task
        return


def _failure(
    sender: object = None,
    task_id: object = None,
    exception: object = None,
    traceback: object = None,
    **_: Any,
) -> None:
    run = _running.get(task_id) if type(task_id) is str else None
    if run is not None and isinstance(exception, BaseException):
        run.exc_info = (type(exception), exception, traceback)


def _postrun(
    sender: object = None,
    task_id: object = None,
    task: object = None,
    state: object = None,
    **_: Any,
) -> None:
    if type(task_id) is not str:
        return
    with _lock:
        run = _running.pop(task_id, None)
    if run is None:
        return
    try:
        run.ctx.update(
            {
                "task_state": state if type(state) is str and state in _states else None,
                "runtime_ms": round((time.perf_counter() - run.started) * 1000.0, 3),
            }
        )
        extra: dict[str, Any] = {}
        level = "info"
        if run.exc_info is not None:
            extra["exc_info"] = run.exc_info
            level = "error"
        _emit_finished(level, extra)
    finally:
        run.exc_info = None
        _context.deactivate(run.token)


def _emit_finished(level: str, extra: dict[str, Any]) -> None:
    emit("safelog.celery", level, "task_finished", sys._getframe(), extra)


def _keep_logging(**_: Any) -> None:
    # A connected receiver is how Celery is told logging is configured.
    return


def install(app: Any = None) -> None:
    """
    Connect safelog to Celery's signals (see the module). *app*, if given,
    is also told not to hijack the root logger nor redirect stdout/stderr.
    Call it after `safelog.configure`, in the module that makes the app.
    """
    global _states  # noqa: PLW0603
    from celery import signals, states

    _states = frozenset(states.ALL_STATES) | {states.RETRY, states.IGNORED, states.REJECTED}
    if app is not None:
        app.conf.worker_hijack_root_logger = False
        app.conf.worker_redirect_stdouts = False
    # Strong references: these are module functions; connecting twice is a no-op.
    signals.setup_logging.connect(_keep_logging, weak=False)
    signals.task_prerun.connect(_prerun, weak=False)
    signals.task_failure.connect(_failure, weak=False)
    signals.task_postrun.connect(_postrun, weak=False)
