"""`_options`: resolving configure()'s options, purely."""

from __future__ import annotations

import logging

from collections.abc import Iterator
from pathlib import Path

import pytest

import safelog

from safelog import _options, _state


FILE = """
[tool.safelog]
service = "from-file"
level = "ERROR"
foreign_handlers = "error"
shutdown_timeout = 7
"""


@pytest.fixture
def pyproject(tmp_path: Path) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(FILE, encoding="utf-8")
    return path


@pytest.fixture
def foreign_handler() -> Iterator[logging.Handler]:
    lg = logging.getLogger("app.foreign")
    handler = logging.StreamHandler()
    lg.addHandler(handler)
    yield handler
    safelog.shutdown()  # re-attaches a detached handler, which is then removed
    lg.removeHandler(handler)


class TestPrecedence:
    def test_explicit_foreign_handlers_beats_the_file(
        self, pyproject: Path, foreign_handler: logging.Handler
    ) -> None:
        """An explicit foreign_handlers='detach' is not overridden by the file's 'error'."""
        safelog.configure(foreign_handlers="detach", pyproject=pyproject, console=False)
        assert foreign_handler not in logging.getLogger("app.foreign").handlers

    def test_the_file_applies_when_the_argument_is_absent(
        self, pyproject: Path, foreign_handler: logging.Handler
    ) -> None:
        """Without the argument, the file's strict 'error' applies over the 'detach' default."""
        with pytest.raises(safelog.ConfigurationError, match=r"^stdlib handlers would bypass"):
            safelog.configure(pyproject=pyproject, console=False)
        assert foreign_handler in logging.getLogger("app.foreign").handlers

    def test_argument_then_environment_then_file_then_default(self, pyproject: Path) -> None:
        """Each option takes the first of argument, environment, file, default."""
        opts = _options.resolve(
            level="DEBUG",
            pyproject=pyproject,
            environ={"SAFELOG_LEVEL": "WARNING", "SAFELOG_SERVICE": "from-env"},
        )
        assert opts.level == logging.DEBUG
        assert opts.service == "from-env"
        assert opts.shutdown_timeout == 7.0
        assert opts.foreign_handlers == "error"
        default = _options.resolve(service="svc", environ={})
        assert default.level == logging.INFO
        assert default.foreign_handlers == "detach"  # issue 10: routed through the chain
        assert default.shutdown_timeout == _options.DEFAULT_SHUTDOWN_TIMEOUT


class TestPure:
    def test_resolving_changes_nothing(self, pyproject: Path) -> None:
        """resolve() configures nothing: no state, no handlers, no structlog change."""
        root = list(logging.getLogger().handlers)
        _options.resolve(pyproject=pyproject, environ={})
        assert _state.current() is None
        assert logging.getLogger().handlers == root

    def test_bad_values_name_the_option_never_the_value(self) -> None:
        """A wrong value is a ConfigurationError naming the option only."""
        secret = "not a level " + "x" * 8
        with pytest.raises(safelog.ConfigurationError) as err:
            _options.resolve(service="svc", level=secret, environ={})
        assert str(err.value).startswith("level:")
        assert secret not in str(err.value)
