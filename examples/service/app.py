"""
A small page-export service: the unit under test in ``test_app.py``.

Pages hold customer content (titles, bodies, owner emails). The service's
logs may carry only what ``pyproject.toml`` declares: the page's internal number,
counts, a duration and closed sets of outcomes and formats.
"""

from __future__ import annotations

import logging
import time

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safelog


#: The field policy (``[tool.safelog]``): everything the logs can contain.
POLICY = Path(__file__).with_name("pyproject.toml")

log = safelog.get_logger(__name__)
# A stdlib logger, as the rendering libraries a service uses have.
render_log = logging.getLogger("app.render")


def configure_logging(*, cloudwatch: Any = None, console: bool = True) -> None:
    """Called once at startup (and by the tests' autouse fixture)."""
    safelog.configure(pyproject=POLICY, console=console, cloudwatch=cloudwatch)


@dataclass
class Page:
    page_id: int
    title: str
    body: str
    owner_email: str


class ExportRejectedError(Exception):
    pass


def render(page: Page, export_format: str) -> bytes:
    if not page.body.strip():
        # The message quotes customer content, as real code often does.
        msg = f"page {page.title!r} of {page.owner_email} has an empty body"
        raise ValueError(msg)
    render_log.info("rendering %r as %s for %s", page.title, export_format, page.owner_email)
    return f"%{export_format.upper()}\n{page.title}\n{page.body}".encode()


def export_page(page: Page, export_format: str) -> bytes:
    """Render *page*; log what happened, as metadata only."""
    started = time.perf_counter()
    if export_format not in ("pdf", "docx"):
        # export_format is customer input here: the Enum kind turns anything
        # else into a marker.
        log.warning(
            "export_rejected", page_id=page.page_id, outcome="rejected", export_format=export_format
        )
        msg = f"unsupported format {export_format!r}"
        raise ExportRejectedError(msg)
    try:
        data = render(page, export_format)
    except ValueError:
        log.exception("export_failed", page_id=page.page_id, outcome="failed")
        raise
    log.info(
        "page_exported",
        page_id=page.page_id,
        page_count=data.count(b"\n") + 1,
        duration_ms=(time.perf_counter() - started) * 1000,
        outcome="ok",
        export_format=export_format,
        title=page.title,  # safelog: ignore[SL301] -- undeclared on purpose: dropped, counted
    )
    return data
