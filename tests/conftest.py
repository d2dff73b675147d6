"""Shared fixtures: every test starts and ends with logging as Python left it."""

from __future__ import annotations

import io
import json
import logging
import os
import signal

from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from hypothesis import HealthCheck, settings

import safelog


# Property tests: small enough for CI by default, long on demand with
# HYPOTHESIS_PROFILE=long.
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long",
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# A shell starts a background job (`make test &`, many CI runners) with
# SIGINT and SIGQUIT ignored, and an ignored signal stays ignored in every
# child: the servers the tests stop with SIGINT (Ctrl-C), and Celery's pool,
# would sit out the stop timeout and be killed. The children get both
# signals as from a terminal when this process does.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if signal.getsignal(signal.SIGQUIT) is signal.SIG_IGN:
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


@pytest.fixture(autouse=True)
def _reset_logging_state() -> Iterator[None]:
    """Undo safelog, structlog and stdlib logging changes a test made."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    last_resort = logging.lastResort
    named = _named_loggers()
    yield
    safelog.shutdown()
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    root.handlers = handlers
    root.setLevel(level)
    logging.lastResort = last_resort
    # A handler a test left on a named logger would be taken over (and
    # reported) by every later configure(): put each logger back as it was.
    for name, lg in list(logging.Logger.manager.loggerDict.items()):
        if not isinstance(lg, logging.Logger):
            continue
        before = named.get(name)
        lg.handlers = [] if before is None else before[0]
        lg.propagate = True if before is None else before[1]


def _named_loggers() -> dict[str, tuple[list[logging.Handler], bool]]:
    return {
        name: (list(lg.handlers), lg.propagate)
        for name, lg in list(logging.Logger.manager.loggerDict.items())
        if isinstance(lg, logging.Logger)
    }


class ConsoleCapture:
    """A text stream to pass as ``console=``, read back as parsed records."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        """Every line parsed; each line must be exactly one JSON object."""
        out = []
        for line in self.text.splitlines():
            record = json.loads(line)
            assert type(record) is dict
            out.append(record)
        return out


@pytest.fixture
def console(monkeypatch: pytest.MonkeyPatch) -> ConsoleCapture:
    """A console capture; SAFELOG_* variables of the outer environment are cleared."""
    import os

    for name in list(os.environ):
        if name.startswith("SAFELOG_"):
            monkeypatch.delenv(name)
    return ConsoleCapture()


@pytest.fixture
def sinks(console: ConsoleCapture, capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """safelog configured with a console capture plus a listener on every line."""
    from safelog._config import current_state
    from strategies import Sinks

    safelog.configure(service="test", console=console.stream)
    s = Sinks(console, capsys)
    current_state().chain.dispatcher.add_listener(s.heard.append)
    yield s
    safelog.shutdown()
