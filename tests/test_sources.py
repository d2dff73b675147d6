"""What is a source file of code, and what it holds (`safelog._sources`)."""

from __future__ import annotations

import importlib.util
import os
import sys
import types
import uuid

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import safelog

from safelog import _callsite, _sources
from safelog.processors import MARKER_EVENT, MARKER_LOGGER


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    _callsite.clear_caches()
    yield
    _callsite.clear_caches()


def _before_start(path: Path) -> None:
    """Date *path* back to before safelog was imported, as a deployed file is."""
    old = _sources.STARTED - 3600
    os.utime(path, (old, old))


class TestIsSourceOfCode:
    def test_this_file_is_code(self) -> None:
        """A test module written before the process started is a source file of code."""
        assert _sources.is_source_of_code(__file__)

    @pytest.mark.parametrize("name", ["<string>", "<rule>", "<stdin>", "", "<frozen x y>"])
    def test_pseudo_files_are_not(self, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """Pseudo-file names of code compiled at runtime are not source files."""
        # As in a process started from a script: a worker started by
        # `python -c` (pytest-xdist's) has a command line as its <string>.
        monkeypatch.setattr(sys, "argv", ["service.py"])
        assert not _sources.is_source_of_code(name)

    def test_frozen_stdlib_is(self) -> None:
        """Frozen stdlib modules are code."""
        assert _sources.is_source_of_code("<frozen importlib._bootstrap>")

    def test_missing_file_is_not(self, tmp_path: Path) -> None:
        """A file that does not exist is not a source file."""
        assert not _sources.is_source_of_code(str(tmp_path / "gone.py"))

    def test_file_written_after_start_is_not(self, tmp_path: Path) -> None:
        """A file written while the process runs is not code; dated back, it is."""
        path = tmp_path / "late.py"
        path.write_text("X = 'late_literal'\n")
        assert not _sources.is_source_of_code(str(path))
        assert _sources.file_pool(str(path)) == frozenset()
        _sources.clear_caches()
        _before_start(path)
        assert _sources.is_source_of_code(str(path))
        assert "late_literal" in _sources.file_pool(str(path))

    def test_zip_member_is_judged_by_its_archive(self, tmp_path: Path) -> None:
        """A module inside a zip archive counts by the archive's own date."""
        import zipfile

        archive = tmp_path / "app.zip"
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("zmod.py", "X = 1\n")
        member = str(archive / "zmod.py")
        assert not _sources.is_source_of_code(member)
        _sources.clear_caches()
        _before_start(archive)
        assert _sources.is_source_of_code(member)


class TestPools:
    def test_file_pool_cache_is_bounded(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """The per-file cache stays within its bound."""
        monkeypatch.setattr(_sources, "_MAX_FILE_POOLS", 4)
        for i in range(12):
            path = tmp_path / f"m{i}.py"
            path.write_text(f"EVENT = 'file_lit_{i}'\n")
            _before_start(path)
            assert f"file_lit_{i}" in _sources.file_pool(str(path))
            assert len(_sources._file_pools) <= 4

    def test_unreadable_file_gives_an_empty_pool(self, tmp_path: Path) -> None:
        """A file that does not exist or does not compile contributes no literals."""
        assert _sources.file_pool(str(tmp_path / "missing.py")) == frozenset()
        bad = tmp_path / "bad.py"
        bad.write_text("x = 'broken\n")
        _before_start(bad)
        assert _sources.file_pool(str(bad)) == frozenset()

    def test_line_count(self, tmp_path: Path) -> None:
        """A source file's length is counted; a pseudo-file has none."""
        path = tmp_path / "lines.py"
        path.write_text("a = 1\nb = 2\nc = 3\n")
        _before_start(path)
        assert _sources.file_line_count(str(path)) == 3
        assert _sources.file_line_count("<string>") == 0


class TestModules:
    def test_module_made_in_memory_is_not_code(self) -> None:
        """types.ModuleType(name) is not a module of code."""
        assert not _sources.is_code_module(types.ModuleType("made_" + uuid.uuid4().hex))

    def test_builtin_and_loaded_modules_are_code(self) -> None:
        """sys, a stdlib module from a file, and this module are code."""
        assert _sources.is_code_module(sys)
        assert _sources.is_code_module(os)
        assert _sources.is_code_module(sys.modules[__name__])


def _import_generated(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


class TestGeneratedModules:
    """Issue 16.8: a module generated from data and imported is not code."""

    SOURCE = (
        "import logging\n"
        "import safelog\n"
        "log = safelog.get_logger(__name__)\n"
        "def {function}():\n"
        "    log.info({event!r})\n"
        "    logging.getLogger(__name__).warning({event!r})\n"
    )

    def _run(self, console: Any, tmp_path: Path, *, dated_back: bool) -> tuple[str, list[Any]]:
        canary = "canary_" + uuid.uuid4().hex
        name = f"generated_{canary}"
        path = tmp_path / f"{name}.py"
        path.write_text(self.SOURCE.format(function=canary, event=canary))
        if dated_back:
            _before_start(path)
        safelog.configure(service="test", console=console.stream)
        try:
            mod = _import_generated(path, name)
            getattr(mod, canary)()
        finally:
            sys.modules.pop(name, None)
        return canary, console.records()

    def test_generated_module_names_and_literals_do_not_pass(
        self, console: Any, tmp_path: Path
    ) -> None:
        """Event, module, function and logger of a module written at runtime are markers."""
        canary, records = self._run(console, tmp_path, dated_back=False)
        assert canary not in console.text
        assert len(records) == 2
        for rec in records:
            assert rec["event"] == MARKER_EVENT
            assert rec["module"] is None
            assert rec["function"] is None
        assert records[1]["logger"] == MARKER_LOGGER

    def test_module_deployed_before_start_passes(self, console: Any, tmp_path: Path) -> None:
        """The same module, written before the process started, is code (retention)."""
        canary, records = self._run(console, tmp_path, dated_back=True)
        assert [r["event"] for r in records] == [canary, canary]
        assert records[0]["module"] == f"generated_{canary}"
        assert records[0]["function"] == canary


class TestCommandLine:
    """``python -c COMMAND``: the command is code an operator typed; exec'd data is not."""

    SCRIPT = (
        "import io, json, uuid, safelog\n"
        "CANARY = 'canary_' + uuid.uuid4().hex\n"
        "out = io.StringIO()\n"
        "safelog.configure(service='t', console=out)\n"
        "log = safelog.get_logger('app')\n"
        "log.info('typed_on_the_command_line')\n"
        "assert json.loads(out.getvalue())['module'] == '__main__'\n"
        "exec(compile('log.info(' + repr(CANARY) + ')', '<string>', 'exec'))\n"
        "safelog.shutdown()\n"
        "events = [json.loads(line)['event'] for line in out.getvalue().splitlines()]\n"
        "print(json.dumps({'canary': CANARY, 'events': events, 'text': out.getvalue()}))\n"
    )

    @pytest.mark.parametrize("flags", [[], ["-X", "dev"], ["-I"]])
    def test_command_literals_pass_data_compiled_as_string_does_not(
        self, flags: list[str]
    ) -> None:
        """The command's own event passes; text compiled under the same name is a marker."""
        import json
        import subprocess

        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOG_")}
        proc = subprocess.run(
            [sys.executable, *flags, "-c", self.SCRIPT],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=True,
        )
        result = json.loads(proc.stdout)
        assert result["events"] == ["typed_on_the_command_line", MARKER_EVENT]
        assert result["canary"] not in result["text"] + proc.stderr
