# ruff: noqa: FLY002 -- the joins build strings at runtime on purpose
"""The "is this string a literal of the calling code?" check and call sites."""

from __future__ import annotations

import sys
import uuid

from types import CodeType, FrameType

import pytest

from safelog import _callsite


MODULE_EVENT = "module_level_event_constant"


def _here() -> FrameType:
    """The caller's frame, as the chain would find it."""
    return sys._getframe(1)


def _check(text: str) -> bool:
    frame = sys._getframe(1)
    return _callsite.is_code_literal(text, frame)


@pytest.fixture(autouse=True)
def _fresh_caches():
    _callsite.clear_caches()
    yield
    _callsite.clear_caches()


class TestIsCodeLiteral:
    def test_literal_of_the_calling_function_passes(self) -> None:
        """A string literal written in the calling function is a constant."""
        assert _check("page_exported")

    def test_fstring_built_at_runtime_does_not_pass(self) -> None:
        """An f-string built from data is not a literal, however identifier-like."""
        account_id = str(uuid.uuid4().int)[:6]
        text = f"user_{account_id}"
        assert text.isidentifier()
        assert not _check(text)

    def test_concatenation_does_not_pass(self) -> None:
        """A string concatenated at runtime is not a literal."""
        suffix = uuid.uuid4().hex[:4]
        assert not _check("page_" + suffix)

    def test_percent_formatting_does_not_pass(self) -> None:
        """A %-formatted string is not a literal."""
        value = uuid.uuid4().hex[:4]
        assert not _check("page_%s" % value)  # noqa: UP031 -- the runtime-built case

    def test_format_does_not_pass(self) -> None:
        """A str.format() result is not a literal."""
        value = uuid.uuid4().hex[:4]
        assert not _check("page_{}".format(value))  # noqa: UP032 -- the runtime-built case

    def test_join_does_not_pass(self) -> None:
        """A joined string is not a literal."""
        value = uuid.uuid4().hex[:4]
        assert not _check("_".join(["page", value]))

    def test_runtime_copy_of_a_literal_passes(self) -> None:
        """Equality decides, not identity: a runtime string equal to a literal is a constant."""
        rebuilt = "".join(["page", "_", "exported"])
        assert _check(rebuilt)
        assert _check("page_exported")

    def test_module_level_constant_used_in_a_function_passes(self) -> None:
        """A module-level constant passes when logged from a function of that module."""
        assert MODULE_EVENT not in _callsite.code_pool(sys._getframe().f_code)
        assert _check(MODULE_EVENT)

    def test_literal_of_a_nested_function_passes(self) -> None:
        """A literal written inside a nested function passes when that function logs it."""

        def inner() -> bool:
            frame = _here()
            return _callsite.is_code_literal("nested_literal_event", frame)

        assert inner()
        runtime = "nested_" + uuid.uuid4().hex[:4]

        def inner_runtime() -> bool:
            return _callsite.is_code_literal(runtime, _here())

        assert not inner_runtime()

    def test_pools_hold_exact_strings_of_the_code(self) -> None:
        """A code object's pool holds its own literals, as exact strings."""
        pool = _callsite.code_pool(sys._getframe().f_code)
        assert "some_literal_here" in pool
        assert all(type(s) is str for s in pool)

    def test_no_frame_and_no_file_is_never_a_literal(self) -> None:
        """Without a frame or a file nothing counts as a literal."""
        assert not _callsite.is_code_literal("page_exported", None)
        assert not _callsite.is_code_literal("page_exported", None, None)

    def test_filename_alone_uses_the_modules_literals(self) -> None:
        """Given only a filename, the literals of that module decide."""
        assert _callsite.is_code_literal(MODULE_EVENT, None, __file__)
        assert not _callsite.is_code_literal("zz" + uuid.uuid4().hex, None, __file__)


class TestExecutedCode:
    """Issue 16.2: code compiled at runtime is not code the team wrote."""

    def test_exec_code_without_a_file_has_no_literals(self) -> None:
        """Code exec'd from a string: neither its literals nor runtime strings pass."""
        source = (
            "import sys\n"
            "def run(check, data):\n"
            "    f = sys._getframe()\n"
            "    return check('exec_literal', f), check(f'exec_{data}', f)\n"
        )
        ns: dict[str, object] = {"__name__": "generated_mod"}
        exec(compile(source, "<generated>", "exec"), ns)
        literal_ok, runtime_ok = ns["run"](_callsite.is_code_literal, "x1")  # type: ignore[operator]
        assert literal_ok is False
        assert runtime_ok is False

    @pytest.mark.parametrize("filename", ["<rule>", "<string>", "rules/generated.py"])
    def test_rules_engine_literal_is_not_a_constant(self, filename: str) -> None:
        """A template compiled at runtime with customer text as a literal: no constant."""
        canary = "canary-" + uuid.uuid4().hex
        source = f"import sys\ndef action(check):\n    return check({canary!r}, sys._getframe())\n"
        ns: dict[str, object] = {"__name__": "rules"}
        exec(compile(source, filename, "exec"), ns)
        assert canary not in _callsite.code_pool(ns["action"].__code__)  # type: ignore[attr-defined]
        assert ns["action"](_callsite.is_code_literal) is False  # type: ignore[operator]

    def test_in_linecache_is_not_a_source_file(self) -> None:
        """Registering generated source in linecache does not make it code."""
        import linecache

        canary = "canary-" + uuid.uuid4().hex
        filename = f"<rule-{canary[-8:]}>"
        source = f"import sys\ndef action(check):\n    return check({canary!r}, sys._getframe())\n"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        try:
            ns: dict[str, object] = {"__name__": "rules"}
            exec(compile(source, filename, "exec"), ns)
            assert ns["action"](_callsite.is_code_literal) is False  # type: ignore[operator]
        finally:
            linecache.cache.pop(filename, None)

    def test_code_claiming_this_file_does_not_carry_its_own_literals(self) -> None:
        """Code compiled from data under this file's real name: only the file on disk counts."""
        canary = "canary-" + uuid.uuid4().hex
        source = f"import sys\ndef action(check):\n    return check({canary!r}, sys._getframe())\n"
        ns = dict(globals())
        exec(compile(source, __file__, "exec"), ns)
        assert canary not in _callsite.code_pool(ns["action"].__code__, ns)
        assert ns["action"](_callsite.is_code_literal) is False

    def test_exec_in_this_modules_globals_does_not_borrow_its_literals(self) -> None:
        """Exec'd code with a fake filename does not inherit the test module's pool."""
        source = "import sys\nresult = check(event, sys._getframe())\n"
        ns = dict(globals())
        ns["check"] = _callsite.is_code_literal
        ns["event"] = "".join(["module_level_", "event_constant"])
        exec(compile(source, "<no file>", "exec"), ns)
        assert ns["result"] is False


class TestCaches:
    def test_code_pool_is_cached(self) -> None:
        """The pool of one code object is computed once."""
        code = sys._getframe().f_code
        assert _callsite.code_pool(code) is _callsite.code_pool(code)

    def test_code_pool_cache_is_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Generated code cannot grow the code cache past its bound."""
        monkeypatch.setattr(_callsite, "_MAX_CODE_POOLS", 8)
        codes: list[CodeType] = [compile(f"x = 'lit{i}'", "<gen>", "exec") for i in range(50)]
        for code in codes:
            assert _callsite.code_pool(code) == frozenset()
            assert len(_callsite._code_pools) <= 8

    def test_a_reused_id_does_not_return_another_codes_pool(self) -> None:
        """A cache entry whose code object is not this one is recomputed, not trusted."""
        code = sys._getframe().f_code
        forged = "forged_" + uuid.uuid4().hex
        other = compile(f"x = {forged!r}", "<gen>", "exec")
        _callsite._code_pools[id(code)] = (other, frozenset({forged}))
        pool = _callsite.code_pool(code)
        assert "reused_id_real_literal" in pool
        assert forged not in pool


class TestFindCaller:
    def test_returns_the_first_frame_outside_the_machinery(self) -> None:
        """find_caller skips safelog, structlog and logging frames."""
        frame = _callsite.find_caller()
        assert frame is not None
        assert frame.f_code is sys._getframe().f_code
        assert frame.f_globals["__name__"] == __name__

    def test_skipped_modules_count_as_machinery(self) -> None:
        """A service's own logging helper modules can be skipped."""
        try:
            _callsite.set_skipped_modules((__name__,))
            assert _callsite.is_infra(__name__)
            frame = _callsite.find_caller()
            assert frame is None or frame.f_globals["__name__"] != __name__
        finally:
            _callsite.set_skipped_modules(())
        assert not _callsite.is_infra(__name__)

    def test_infra_prefixes_are_dotted(self) -> None:
        """Only safelog, structlog and logging and their submodules are machinery."""
        assert _callsite.is_infra("logging.handlers")
        assert _callsite.is_infra("structlog")
        assert not _callsite.is_infra("safelogger")
        assert not _callsite.is_infra("loggingtools")
