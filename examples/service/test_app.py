"""
Tests of the page-export service, written with safelog's pytest plugin only.

The autouse fixture configures logging as production does, but ships to a
moto CloudWatch on 127.0.0.1 (the plugin's ``safelog_cloudwatch``), so the
assertions cover both the rendered lines and what CloudWatch stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import app
import pytest

import safelog

from safelog.testing import CanaryFactory, SafelogCapture


@pytest.fixture(autouse=True)
def _logging(safelog_cloudwatch: Any) -> Iterator[None]:
    app.configure_logging(cloudwatch=safelog_cloudwatch, console=False)
    yield
    safelog.shutdown()


def test_export_logs_metadata_only(safelog_capture: SafelogCapture, canary: CanaryFactory) -> None:
    page = app.Page(
        page_id=7, title=canary("text"), body=canary("body"), owner_email=canary("email")
    )

    app.export_page(page, "pdf")

    # Retention: the metadata arrived (without this, logging nothing would pass).
    safelog_capture.assert_logged("page_exported", page_id=7, outcome="ok", export_format="pdf")
    # The stdlib record arrived too, without its %-arguments.
    safelog_capture.assert_logged("rendering %r as %s for %s", logger="app.render", dropped=3)
    # No leak: every canary made in this test, in any encoding, in any sink.
    safelog_capture.assert_no_leaks()


def test_failed_export_keeps_the_error_type_not_its_message(
    safelog_capture: SafelogCapture, canary: CanaryFactory
) -> None:
    page = app.Page(page_id=8, title=canary("text"), body="   ", owner_email=canary("email"))

    with pytest.raises(ValueError, match="empty body"):
        app.export_page(page, "docx")

    record = safelog_capture.assert_logged("export_failed", page_id=8, outcome="failed")
    assert record["error"]["type"] == "ValueError"
    safelog_capture.assert_no_leaks()


def test_customer_input_in_a_declared_field_becomes_a_marker(
    safelog_capture: SafelogCapture, canary: CanaryFactory
) -> None:
    page = app.Page(page_id=9, title="t", body="b", owner_email="e@example.org")
    export_format = canary("url")  # whatever the customer sent

    with pytest.raises(app.ExportRejectedError):
        app.export_page(page, export_format)

    safelog_capture.assert_logged(
        "export_rejected", page_id=9, outcome="rejected", export_format="<rejected:enum>"
    )
    safelog_capture.assert_no_leaks(export_format)
