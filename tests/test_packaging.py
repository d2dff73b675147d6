"""Packaging: a light import, typed, a sorted public API, version metadata."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources
import importlib.util
import json
import re
import subprocess
import sys

from pathlib import Path
from typing import Any

import safelog


if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover -- exercised on 3.10 only
    import tomli as tomllib


ROOT = Path(__file__).resolve().parent.parent
DIST = "safelog-structlog"
HEAVY = ("boto3", "botocore", "watchtower", "pytest", "_pytest", "moto", "pydantic", "urllib3")
# Frameworks: each integration is an optional extra, never imported by `import safelog`.
FRAMEWORKS = (
    "fastapi",
    "starlette",
    "uvicorn",
    "flask",
    "werkzeug",
    "gunicorn",
    "django",
    "celery",
    "kombu",
    "asgiref",
    "opentelemetry",
)


class TestImport:
    def test_import_is_light(self) -> None:
        """`import safelog` imports none of boto3, botocore, watchtower, pytest or moto."""
        code = (
            "import json, sys\n"
            "before = set(sys.modules)\n"
            "import safelog\n"
            "print(json.dumps(sorted(sys.modules)))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        loaded = json.loads(out.stdout)
        assert "safelog" in loaded
        heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY + FRAMEWORKS)
        assert heavy == []
        integrations = ("asgi", "wsgi", "django", "celery", "aws_lambda")
        assert not [m for m in loaded if m in {f"safelog.{i}" for i in integrations}]
        # The runtime and structlog load on first use (PEP 562), not at import.
        assert "structlog" not in loaded
        assert "safelog._chain" not in loaded

    def test_structlog_gets_safelogs_defaults_once_imported(self) -> None:
        """After `import safelog`, a later `import structlog` is configured at once."""
        code = (
            "import safelog, structlog\n"
            "from safelog._chain import StructlogFactory\n"
            "cfg = structlog.get_config()\n"
            "print(isinstance(cfg['logger_factory'], StructlogFactory))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        assert out.stdout.strip() == "True"

    def test_py_typed_is_shipped(self) -> None:
        """The package carries the py.typed marker."""
        assert importlib.resources.files("safelog").joinpath("py.typed").is_file()


class TestPublicApi:
    def test_all_is_sorted_and_unique(self) -> None:
        """safelog.__all__ is sorted and has no duplicates."""
        assert safelog.__all__ == sorted(safelog.__all__)
        assert len(set(safelog.__all__)) == len(safelog.__all__)

    def test_every_name_is_importable(self) -> None:
        """Every name in __all__ exists on the package and via `from safelog import`."""
        for name in safelog.__all__:
            assert hasattr(safelog, name), name
        namespace: dict[str, object] = {}
        exec("from safelog import *", namespace)
        assert set(safelog.__all__) <= set(namespace)

    def test_public_modules_have_all(self) -> None:
        """Each public module declares __all__ and every listed name exists."""
        for module_name in (
            "safelog.policy",
            "safelog.processors",
            "safelog.stdlib",
            "safelog.tracebacks",
        ):
            module = importlib.import_module(module_name)
            names = module.__all__
            assert len(set(names)) == len(names)
            for name in names:
                assert hasattr(module, name), f"{module_name}.{name}"

    def test_contract_names(self) -> None:
        """The names the issue fixes as the API are exported."""
        required = {
            "configure",
            "shutdown",
            "get_logger",
            "Int",
            "Float",
            "Bool",
            "Enum",
            "Id",
            "Hashed",
            "ConfigurationError",
        }
        assert required <= set(safelog.__all__)


class TestMetadata:
    def test_version_matches_metadata(self) -> None:
        """The installed distribution's version is safelog.__version__."""
        assert importlib.metadata.version(DIST) == safelog.__version__

    def test_runtime_dependencies(self) -> None:
        """structlog and boto3 are runtime dependencies; watchtower is an extra only."""
        requires = importlib.metadata.requires(DIST) or []
        runtime = {
            r.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip()
            for r in requires
            if "extra ==" not in r
        }
        assert {"structlog", "boto3"} <= runtime
        assert "watchtower" not in runtime


def _pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)


def _names(requirements: list[Any]) -> set[str]:
    return {re.split(r"[\[<>=;! ]", r)[0].lower() for r in requirements if isinstance(r, str)}


class TestDistribution:
    def test_distribution_name_is_not_the_import_name(self) -> None:
        """The distribution is safelog-structlog (`safelog` on the index is another project)."""
        assert _pyproject()["project"]["name"] == DIST
        assert importlib.util.find_spec("safelog") is not None

    def test_user_extras_hold_no_development_tools(self) -> None:
        """Extras are for users; linters, type checkers and test tools are dependency groups."""
        project = _pyproject()
        extras = project["project"]["optional-dependencies"]
        tools = {"ruff", "mypy", "hypothesis", "pytest-cov", "matplotlib", "boto3-stubs"}

        assert {"pytest", "moto", "docs"} <= set(extras)
        for name, requirements in extras.items():
            assert not _names(requirements) & tools, name
        groups = project["dependency-groups"]
        assert tools <= _names(groups["dev"]) | _names(groups["test"])

    def test_demo_installs_only_what_it_needs(self) -> None:
        """`make demo` installs the library and the moto extra: no docs, plots or test tools."""
        makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
        recipe = makefile.split("$(VENV)/.demo-installed:", 1)[1].split("\n\n", 1)[0]
        extras = _pyproject()["project"]["optional-dependencies"]

        assert re.findall(r"pip install --quiet (.*)", recipe) == ["-e '.[moto]'"]
        assert _names(extras["moto"]) == {"moto"}
        assert "demo: $(VENV)/.demo-installed" in makefile

    def test_license_is_the_full_mit_text(self) -> None:
        """LICENSE holds the whole MIT license, and the metadata names it."""
        text = (ROOT / "LICENSE").read_text(encoding="utf-8")

        assert text.startswith("MIT License\n\nCopyright (c) ")
        assert "Permission is hereby granted, free of charge" in text
        assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text
        assert _pyproject()["project"]["license"] == "MIT"

    def test_pre_commit_rev_is_the_current_release(self) -> None:
        """The documented pre-commit `rev` is the tag of this version, not a placeholder."""
        page = (ROOT / "docs" / "installation.md").read_text(encoding="utf-8")
        hooks = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")

        assert re.findall(r"^\s+rev: (\S+)", page, re.MULTILINE) == [f"v{safelog.__version__}"]
        assert f"rev: v{safelog.__version__}" in hooks
