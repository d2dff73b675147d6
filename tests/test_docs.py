"""The docs and README say what the code does, and their examples run."""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import re
import secrets
import subprocess
import sys

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import docblocks
import safelog

from safelog import _pyproject
from safelog._embedded import EmbeddedMoto
from safelog.check import analyse_source
from safelog.policy import KINDS


ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]


def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _nav_pages(nav: object) -> set[str]:
    if isinstance(nav, str):
        return {nav}
    if isinstance(nav, list):
        return set().union(*(_nav_pages(x) for x in nav)) if nav else set()
    if isinstance(nav, dict):
        return set().union(*(_nav_pages(v) for v in nav.values()))
    return set()


class TestConfigurationPage:
    def test_every_configure_option(self) -> None:
        """Every configure() parameter has a row in the options table."""
        page = _page("configuration.md")

        for name in inspect.signature(safelog.configure).parameters:
            assert f"| `{name}` |" in page, name

    def test_every_environment_variable(self) -> None:
        """Every SAFELOG_* variable the source reads is documented."""
        names = set()
        for path in (ROOT / "src" / "safelog").glob("*.py"):
            names |= set(re.findall(r"SAFELOG_[A-Z_]+[A-Z]", path.read_text(encoding="utf-8")))
        page = _page("configuration.md")

        assert names
        for name in names:
            assert f"`{name}`" in page, name

    def test_every_file_option(self) -> None:
        """Every option [tool.safelog] accepts is documented."""
        page = _page("configuration.md")

        for name in _pyproject.FILE_OPTIONS:
            assert f"`{name}`" in page, name


class TestFieldsPage:
    def test_every_kind(self) -> None:
        """Every built-in kind has a row with its class and its pyproject name."""
        page = _page("fields.md")

        for name, cls in KINDS.items():
            assert f"| `safelog.{cls.__name__}` | `{name}` |" in page, name


class TestSite:
    def test_nav_lists_every_page(self) -> None:
        """mkdocs.yml's nav and the pages in docs/ are the same set."""
        config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
        pages = {p.name for p in DOCS.glob("*.md")}

        assert _nav_pages(config["nav"]) == pages

    def test_pages_have_no_includes(self) -> None:
        """Pages read as files: no snippet include lines, and the site has no include extension."""
        config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")

        assert "pymdownx.snippets" not in config
        for path in PAGES:
            assert "--8<--" not in path.read_text(encoding="utf-8"), path.name

    def test_markers_are_known_and_sit_on_a_fence(self) -> None:
        """Every docs-test marker is a known verb right above a fence; skip gives a reason."""
        for path in PAGES:
            fences = {b.line - 2: b for b in docblocks.blocks(path)}
            for line, verb in docblocks.markers(path):
                assert verb in docblocks.VERBS, f"{path.name}:{line}: {verb}"
                assert line in fences, f"{path.name}:{line}: marker not directly above a fence"
                block = fences[line]
                if verb == "skip":
                    reason = re.fullmatch(r"-- \S.{9,}", block.arg)
                    assert reason, f"{block.where}: skip needs a reason"
                if verb == "file":
                    assert re.fullmatch(r"[\w./-]+", block.arg), block.where
                    assert not block.arg.startswith(("/", "..")), block.where
                if verb == "check":
                    assert block.lang in docblocks.RUNNABLE, block.where

    def test_few_blocks_are_skipped(self) -> None:
        """Skipping is for the few blocks that cannot run: most Python blocks run or are checked."""
        python = [b for p in PAGES for b in docblocks.blocks(p) if b.lang in docblocks.RUNNABLE]
        skipped = [b.where for b in python if b.verb == "skip"]

        assert len(skipped) <= max(3, len(python) // 10), skipped

    @pytest.mark.parametrize(
        "name", [p.name for p in PAGES if docblocks.scripts(docblocks.blocks(p))]
    )
    def test_page_code_runs(
        self, name: str, tmp_path: Path, request: pytest.FixtureRequest
    ) -> None:
        """A page's Python blocks run in order in a fresh interpreter and exit 0."""
        path = ROOT / name if name == "README.md" else DOCS / name
        url = request.getfixturevalue("local_cloudwatch") if _ships_locally(path) else None
        for proc in _run_page(path, tmp_path, url):
            assert proc.returncode == 0, f"{name}:\n{proc.stdout[-1500:]}\n{proc.stderr[-2500:]}"

    def test_check_examples_give_their_codes(self, tmp_path: Path) -> None:
        """Every block marked `check` gives exactly its codes, against its page's policy."""
        checked = 0
        for path in PAGES:
            page = docblocks.blocks(path)
            fields = _page_fields(page, tmp_path / path.stem)
            for block in page:
                if block.verb != "check":
                    continue
                expected = [] if block.arg == "clean" else sorted(block.arg.split(","))
                result = analyse_source(block.code, block.where, fields=fields)

                assert sorted(f.code for f in result.findings) == expected, block.where
                checked += 1
        assert checked


def _page_fields(page: list[docblocks.Block], workdir: Path) -> frozenset[str] | None:
    """The field names the page's `file pyproject.toml` block declares (None: no such block)."""
    for block in page:
        if block.verb == "file" and block.arg == "pyproject.toml":
            workdir.mkdir(parents=True, exist_ok=True)
            (workdir / "pyproject.toml").write_text(block.code, encoding="utf-8")
            found = _pyproject.load(workdir / "pyproject.toml")
            assert found is not None, block.where
            return frozenset(found.fields.kinds)
    return None


def _run_page(
    path: Path, workdir: Path, cloudwatch_url: str | None = None
) -> list[subprocess.CompletedProcess[str]]:
    """Run *path*'s Python blocks as the docs tests do; one result per process."""
    page = docblocks.blocks(path)
    for block in page:
        if block.verb == "file":
            target = workdir / block.arg
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.code, encoding="utf-8")
    # The developer's shell must not change what the examples do.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOG_")}
    # As in production: a hash key comes from the environment, never the code.
    env["SAFELOG_HASH_KEY"] = secrets.token_hex(32)
    if cloudwatch_url is not None:
        env["LOCAL_CLOUDWATCH_URL"] = cloudwatch_url
    return _run_scripts(path, docblocks.scripts(page), workdir, env)


def _ships_locally(path: Path) -> bool:
    """A page that ships to a local CloudWatch says where: it gets one, as its text says."""
    return "LOCAL_CLOUDWATCH_URL" in path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def local_cloudwatch() -> Iterator[str]:
    """One moto server for the pages that ship to a local CloudWatch."""
    with EmbeddedMoto() as server:
        yield server.endpoint_url


def _run_scripts(
    path: Path, scripts: list[str], workdir: Path, env: dict[str, str]
) -> list[subprocess.CompletedProcess[str]]:
    out = []
    for i, code in enumerate(scripts):
        # Named after the page; its line numbers are the page's.
        script = workdir / f"{path.name}-{i}.py"
        script.write_text(code, encoding="utf-8")
        out.append(
            subprocess.run(
                [sys.executable, script.name],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=workdir,
                env=env,
                check=False,
            )
        )
    return out


class TestReadme:
    def test_usage_example_runs_and_does_what_it_says(self, tmp_path: Path) -> None:
        """The README's usage example runs; its records are as the text describes."""
        readme = ROOT / "README.md"
        (code,) = [b.code for b in docblocks.blocks(readme) if b.lang == "python"]

        (proc,) = _run_page(readme, tmp_path)

        assert proc.returncode == 0, proc.stderr[-2000:]
        first, second = (json.loads(line) for line in proc.stderr.splitlines())
        assert (first["event"], first["page_count"], first["status"]) == ("page_exported", 3, "ok")
        assert first["dropped"] == 1
        assert (second["event"], second["dropped"]) == ("retrying %s", 1)
        assert "Zo" not in proc.stderr
        assert "example.com" not in proc.stderr
        assert len(code.strip().splitlines()) <= 17


class TestTestingPage:
    def test_example_service_is_the_one_the_plugin_tests_run(self) -> None:
        """testing.md shows examples/service exactly, the suite the plugin tests run."""
        page = docblocks.blocks(DOCS / "testing.md")
        files = {b.arg: b.code for b in page if b.verb == "file"}
        service = ROOT / "examples" / "service"

        # tests/test_pytest_plugin.py runs these files' suite (and a leaky
        # variant of it): running the page's copy again would cost ~10 s.
        assert set(files) == {"pyproject.toml", "app.py", "test_app.py"}
        for name, code in files.items():
            assert code == (service / name).read_text(encoding="utf-8"), name
        plugin_tests = (ROOT / "tests" / "test_pytest_plugin.py").read_text(encoding="utf-8")
        assert 'SERVICE = ROOT / "examples" / "service"' in plugin_tests


class TestDemo:
    def test_output_has_a_legend_and_rounded_durations(self) -> None:
        """`make demo` explains its markers and what was tried versus stored; durations rounded."""
        demo = _load_example("quickstart.py")
        record = {
            "level": "info",
            "event": "export.finished",
            "page_id": "pg_1001",
            "duration_ms": 13.390268999955879,
        }

        line = demo.shown(record)

        assert '"duration_ms": 13.39}' in line
        for text in ("<non-constant-event>", "dropped: N", "undeclared fields", "%-arguments"):
            assert text in demo.LEGEND, text
        assert "What the service tried to log" in demo.TRIED
        # The description of what was tried names no planted content.
        assert not [p for p in demo.PLANTED if p in demo.TRIED + demo.LEGEND]


def _load_example(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(
        f"example_{Path(name).stem}", ROOT / "examples" / name
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
