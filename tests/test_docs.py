"""The docs and README say what the code does, and their examples run."""

from __future__ import annotations

import inspect
import json
import os
import re
import secrets
import subprocess
import sys

from pathlib import Path

import yaml

import safelog

from safelog import _pyproject
from safelog.policy import KINDS


ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PYTHON_BLOCK = re.compile(r"^( *)```python\n(.*?)^\1```", re.DOTALL | re.MULTILINE)
INCLUDE = re.compile(r'--8<-- "([^"]+)"')
# check.md shows the one-line syntax of a suppression comment; those two
# blocks are syntax, not examples.
SYNTAX_PAGES = {"check.md"}


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

    def test_code_examples_are_example_files(self) -> None:
        """Every Python block on the site includes a file under examples/, nothing inline."""
        for path in sorted(DOCS.glob("*.md")):
            if path.name in SYNTAX_PAGES:
                continue
            for match in PYTHON_BLOCK.finditer(path.read_text(encoding="utf-8")):
                body = match.group(2).strip()
                assert re.fullmatch(r'--8<-- "examples/[^"]+"', body), f"{path.name}: {body[:60]}"

    def test_included_examples_are_run_by_the_tests(self) -> None:
        """Every examples/ file a page includes is one some test runs or checks."""
        tests = "".join(
            p.read_text(encoding="utf-8")
            for p in (ROOT / "tests").glob("test_*.py")
            if p.name != Path(__file__).name
        )
        included = {
            Path(target.split(":")[0])
            for path in DOCS.glob("*.md")
            for target in INCLUDE.findall(path.read_text(encoding="utf-8"))
            if target.startswith("examples/")
        }

        assert included
        for file in included:
            # A script is named by the test that runs it; a directory (the
            # plugin example, the check corpus) by the test that uses it.
            names = {file.name} if file.parent.name == "examples" else {file.parent.name}
            assert any(f'"{n}"' in tests or f"/ {n!r}" in tests for n in names), str(file)

    def test_snippets_exist(self) -> None:
        """Every include on the site names a file that exists."""
        for path in sorted(DOCS.glob("*.md")):
            for target in INCLUDE.findall(path.read_text(encoding="utf-8")):
                file = target.split(":")[0]
                if file.startswith("docs/perf/"):
                    continue  # written by the benchmarks; mkdocs --strict checks them
                assert (ROOT / file).is_file(), f"{path.name}: {file}"


class TestReadme:
    def test_usage_example_runs_and_does_what_it_says(self, tmp_path: Path) -> None:
        """The README's usage example runs; its records are as the text describes."""
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        (code,) = [m.group(2) for m in PYTHON_BLOCK.finditer(readme)]
        script = tmp_path / "usage.py"
        script.write_text(code, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOG_")}
        # As in production: the key comes from the environment, never the code.
        env["SAFELOG_HASH_KEY"] = secrets.token_hex(32)

        proc = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )

        assert proc.returncode == 0, proc.stderr[-2000:]
        first, second = (json.loads(line) for line in proc.stderr.splitlines())
        assert (first["event"], first["page_count"], first["status"]) == ("page_exported", 3, "ok")
        assert first["dropped"] == 1
        assert (second["event"], second["dropped"]) == ("retrying %s", 1)
        assert "Zo" not in proc.stderr
        assert "example.com" not in proc.stderr
        assert len(code.strip().splitlines()) <= 17
