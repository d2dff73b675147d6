"""Packaging: a light import, typed, a sorted public API, version metadata."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources
import json
import subprocess
import sys

import safelog


HEAVY = ("boto3", "botocore", "watchtower", "pytest", "_pytest", "moto", "pydantic", "urllib3")


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
        heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
        assert heavy == []
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
        assert importlib.metadata.version("safelog") == safelog.__version__

    def test_runtime_dependencies(self) -> None:
        """structlog, watchtower and boto3 are runtime dependencies."""
        requires = importlib.metadata.requires("safelog") or []
        runtime = {
            r.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip()
            for r in requires
            if "extra ==" not in r
        }
        assert {"structlog", "watchtower", "boto3"} <= runtime
