"""Shared fixtures: every test starts and ends with logging as Python left it."""

from __future__ import annotations

import logging

from collections.abc import Iterator

import pytest
import structlog

import safelog


@pytest.fixture(autouse=True)
def _reset_logging_state() -> Iterator[None]:
    """Undo safelog, structlog and stdlib logging changes a test made."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    last_resort = logging.lastResort
    yield
    safelog.shutdown()
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    root.handlers = handlers
    root.setLevel(level)
    logging.lastResort = last_resort
