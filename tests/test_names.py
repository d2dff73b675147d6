"""Names of code (`safelog._names`): modules, functions, classes, imported constants."""

from __future__ import annotations

import sys
import types
import uuid

from collections.abc import Iterator
from typing import Any

import pytest

import app_events
import safelog

from app_events import EXPORT_RETRIED, PAGE_EXPORTED
from safelog import _callsite, _names
from safelog.processors import MARKER_EVENT
from strategies import qualname_or_name


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    _callsite.clear_caches()
    yield
    _callsite.clear_caches()


@pytest.fixture
def log(console: Any) -> Any:
    safelog.configure(service="test", console=console.stream)
    return safelog.get_logger(__name__)


class TestImportedConstants:
    """Issue 16.5: module-level constants of another module of code are event names."""

    def test_constant_imported_by_name(self, log: Any, console: Any) -> None:
        """from app.events import PAGE_EXPORTED; log.info(PAGE_EXPORTED) keeps the event."""
        log.info(PAGE_EXPORTED)
        log.info(PAGE_EXPORTED)
        assert [r["event"] for r in console.records()] == [PAGE_EXPORTED, PAGE_EXPORTED]

    def test_constant_read_through_its_module(self, log: Any, console: Any) -> None:
        """log.info(events.EXPORT_RETRIED) keeps the event."""
        log.info(app_events.EXPORT_RETRIED)
        assert console.records()[0]["event"] == EXPORT_RETRIED

    def test_stdlib_logger_too(self, console: Any) -> None:
        """A stdlib logger's constant template from another module is kept."""
        import logging

        safelog.configure(service="test", console=console.stream)
        logging.getLogger(__name__).warning(PAGE_EXPORTED)
        assert console.records()[0]["event"] == PAGE_EXPORTED

    def test_data_assigned_to_a_module_global_is_not_a_constant(
        self, log: Any, console: Any
    ) -> None:
        """A module global assigned from data is the same object, but no literal: marker."""
        canary = "canary-" + uuid.uuid4().hex
        app_events.LAST_TITLE = canary
        try:
            log.info(app_events.LAST_TITLE)
        finally:
            app_events.LAST_TITLE = ""
        assert console.records()[0]["event"] == MARKER_EVENT
        assert canary not in console.text

    def test_data_in_a_runtime_module_is_not_a_constant(self, log: Any, console: Any) -> None:
        """A module made in memory holding data does not vouch for it."""
        canary = "canary-" + uuid.uuid4().hex
        app_events.billing.INVOICE = canary  # type: ignore[attr-defined]
        try:
            log.info(app_events.billing.INVOICE)  # type: ignore[attr-defined]
        finally:
            del app_events.billing.INVOICE  # type: ignore[attr-defined]
        assert console.records()[0]["event"] == MARKER_EVENT
        assert canary not in console.text

    def test_equal_text_built_at_runtime_is_not_a_constant(self, log: Any, console: Any) -> None:
        """Text equal to another module's constant, built at runtime, is not vouched for."""
        rebuilt = "".join(["page_exported_from_", "events_module_", uuid.uuid4().hex[:4]])
        log.info(rebuilt)
        assert console.records()[0]["event"] == MARKER_EVENT


class TestRuntimeCompiledCode:
    """Issue 16.2: a rules engine that compiles logging calls from data."""

    def test_rule_compiled_from_customer_text(self, log: Any, console: Any) -> None:
        """exec(compile(f"log.info({text!r})", "<rule>", "exec")) emits the marker."""
        canary = "canary_" + uuid.uuid4().hex
        ns: dict[str, Any] = {}
        exec(compile(f"def action(log):\n    log.info({canary!r})\n", "<rule>", "exec"), ns)
        ns["action"](log)
        rec = console.records()[0]
        assert rec["event"] == MARKER_EVENT
        assert rec["function"] is None
        assert canary not in console.text

    def test_rule_named_after_a_real_module(self, log: Any, console: Any) -> None:
        """Generated code posing as a loaded module of code, under its file name, gains nothing."""
        canary = "canary_" + uuid.uuid4().hex
        ns: dict[str, Any] = {"__name__": __name__}
        source = f"def {canary}(log):\n    log.info({canary!r})\n"
        exec(compile(source, __file__, "exec"), ns)
        ns[canary](log)
        assert canary not in console.text


class TestNames:
    def test_module_made_in_memory_is_not_named(self) -> None:
        """A frame whose module is not a module of code has the marker as its module."""
        name = "made_" + uuid.uuid4().hex
        mod = types.ModuleType(name)
        sys.modules[name] = mod
        try:
            ns: dict[str, Any] = {"__name__": name}
            exec("import sys\nframe = sys._getframe()\n", ns)
            assert _names.module_name_of(ns["frame"]) == _names.MARKER_NAME
        finally:
            del sys.modules[name]

    def test_this_module_is_named(self) -> None:
        """A test module's frame names its module and function."""
        frame = sys._getframe()
        assert _names.module_name_of(frame) == __name__
        assert _names.function_name_of(frame) == qualname_or_name(
            "TestNames.test_this_module_is_named"
        )
