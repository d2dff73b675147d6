"""Views of the example Django project."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

import safelog


log = safelog.get_logger(__name__)
stdlib_log = logging.getLogger(__name__)


def read_item(request: HttpRequest, item_no: int) -> HttpResponse:
    log.info("item_read", item_id=item_no)
    stdlib_log.info("item_read_stdlib", extra={"item_id": item_no})
    return JsonResponse({"item_no": item_no})


@csrf_exempt  # type: ignore[untyped-decorator]
def add_note(request: HttpRequest, item_no: int) -> HttpResponse:
    _ = request.body  # customer text: never logged
    log.info("note_added", item_id=item_no)
    return JsonResponse({"outcome": "ok"})


def fail(request: HttpRequest, name: str) -> HttpResponse:
    log.info("about_to_fail", outcome="failed")
    msg = f"could not handle {name}"
    raise RuntimeError(msg)
