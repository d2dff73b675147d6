"""`safelog inventory`: the field policy as a reviewer reads it."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import textwrap

from pathlib import Path

import pytest

import safelog

from safelog import _config, _inventory
from safelog.policy import KINDS, RESERVED_KEYS, ConfigurationError, FieldPolicy


ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_POLICY = ROOT / "examples" / "pyproject.toml"
PAGE = ROOT / "docs" / "inventory.md"
GENERATED = re.compile(r"<!-- begin generated: [^>]*-->\n(.*?)<!-- end generated -->", re.DOTALL)

KNOWN = FieldPolicy(
    {
        "status": safelog.Enum("ok", "failed", purpose="result of the export"),
        "page_count": safelog.Int(min=0, purpose="pages in the export"),
        "tenant": safelog.Hashed(purpose="which customer, pseudonymised"),
        "request_id": safelog.Id(max_length=36),
        "route": safelog.Route("/pages/{page_id}"),
        "took": safelog.Duration(unit="s"),
    }
)

KNOWN_TOML = """
[tool.safelog]
service = "exporter"

[tool.safelog.fields]
status     = { kind = "enum", values = ["ok", "failed"], purpose = "result of the export" }
page_count = { kind = "int", min = 0, purpose = "pages in the export" }
tenant     = { kind = "hashed", purpose = "which customer, pseudonymised" }
request_id = { kind = "id", max_length = 36 }
route      = { kind = "route", templates = ["/pages/{page_id}"] }
took       = { kind = "duration", unit = "s" }
"""

KNOWN_FIELDS = [
    {
        "name": "page_count",
        "kind": "int",
        "constraints": {"min": 0},
        "purpose": "pages in the export",
    },
    {"name": "request_id", "kind": "id", "constraints": {"max_length": 36}, "purpose": ""},
    {
        "name": "route",
        "kind": "route",
        "constraints": {"templates": ["/pages/{page_id}"]},
        "purpose": "",
    },
    {
        "name": "status",
        "kind": "enum",
        "constraints": {"values": ["ok", "failed"]},
        "purpose": "result of the export",
    },
    {
        "name": "tenant",
        "kind": "hashed",
        "constraints": {},
        "purpose": "which customer, pseudonymised",
    },
    {"name": "took", "kind": "duration", "constraints": {"unit": "s"}, "purpose": ""},
]


def _write_module(directory: Path, name: str, body: str) -> None:
    (directory / f"{name}.py").write_text(textwrap.dedent(body), encoding="utf-8")


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on sys.path whose modules are forgotten after the test."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("inv_"):
            del sys.modules[name]


class TestInventory:
    def test_metric_and_dimension_fields_say_so(self) -> None:
        """A field published as a metric shows its unit; a dimension says it is one."""
        policy = safelog.FieldPolicy(
            {
                "took": safelog.Duration(metric=True),
                "outcome": safelog.Enum("ok", dimension=True),
                "plain": safelog.Int(),
            }
        )
        by_name = {f["name"]: f["constraints"] for f in _inventory.inventory(policy)["fields"]}
        assert by_name["took"] == {"unit": "ms", "metric": "Milliseconds"}
        assert by_name["outcome"] == {"values": ["ok"], "dimension": True}
        assert by_name["plain"] == {}

    def test_fields_of_a_known_policy(self) -> None:
        """Every declared field is listed, sorted, with its kind, constraints and purpose."""
        inv = _inventory.inventory(KNOWN, source="x", service="exporter")

        assert inv["fields"] == KNOWN_FIELDS
        assert inv["source"] == "x"
        assert inv["service"] == "exporter"

    def test_kinds_used_are_explained(self) -> None:
        """Each kind the policy uses is explained once; every built-in kind has a note."""
        inv = _inventory.inventory(KNOWN)

        assert [k["kind"] for k in inv["kinds"]] == [
            "duration",
            "enum",
            "hashed",
            "id",
            "int",
            "route",
        ]
        assert set(_inventory.KIND_NOTES) == set(KINDS)

    def test_every_reserved_key_is_explained(self) -> None:
        """Each reserved key is either described built-in metadata or a listed reserved input."""
        inv = _inventory.inventory(FieldPolicy())
        explained = {m["name"] for m in inv["metadata"]} | {r["name"] for r in inv["reserved"]}

        assert explained >= RESERVED_KEYS
        assert all(m["description"] and m["present"] for m in inv["metadata"])

    def test_metadata_matches_a_real_record(self) -> None:
        """Every key of a real record (an error with a stack) is in the inventory."""
        lines: list[str] = []

        class Stream:
            def write(self, s: str) -> None:
                lines.append(s)

            def flush(self) -> None:
                pass

        safelog.configure(service="svc", environment="test", console=Stream())
        log = safelog.get_logger(__name__)
        try:
            int("x")
        except ValueError:
            log.exception("failed", undeclared=1, stack_info=True)
        safelog.shutdown()
        record = json.loads(lines[0])
        listed = {m["name"] for m in _inventory.inventory(FieldPolicy())["metadata"]}

        assert set(record) <= listed
        assert {"error", "stack", "dropped", "environment"} <= set(record)

    def test_shipper_keys_are_listed(self) -> None:
        """The keys the CloudWatch shipper adds to cut records and loss reports are listed."""
        from safelog import cloudwatch as _shipper

        text = _inventory.render_markdown(_inventory.inventory(FieldPolicy()))

        assert f"`{_shipper.CUT_MARKER}`" in text
        assert f"`{_shipper.LOSS_EVENT}`" in text
        assert "`cloudwatch_*`" in text

    def test_json_round_trips(self) -> None:
        """The JSON output parses back to the inventory."""
        inv = _inventory.inventory(KNOWN)

        assert json.loads(_inventory.render_json(inv)) == inv

    def test_markdown_rows(self) -> None:
        """The Markdown table has one row per field with its constraints as code."""
        text = _inventory.render_markdown(_inventory.inventory(KNOWN, service="exporter"))

        assert "| `page_count` | int | `min=0` | pages in the export |" in text
        assert '| `status` | enum | `values=["ok","failed"]` | result of the export |' in text
        assert "| `tenant` | hashed | - | which customer, pseudonymised |" in text
        assert "service `exporter`" in text
        for key in ("timestamp", "event", "dropped", "error"):
            assert f"| `{key}` |" in text

    def test_markdown_cells_cannot_break_the_table(self) -> None:
        """A purpose with line breaks and pipes stays in its cell."""
        policy = FieldPolicy({"n": safelog.Int(purpose="a | b\nc")})
        text = _inventory.render_markdown(_inventory.inventory(policy))

        assert "| `n` | int | - | a \\| b c |" in text

    def test_empty_policy(self) -> None:
        """With no fields the Markdown says so instead of printing an empty table."""
        text = _inventory.render_markdown(_inventory.inventory(FieldPolicy()))

        assert "No fields are declared" in text


class TestFromPyproject:
    def test_known_file(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """`[tool.safelog]` gives the same inventory as the same policy in code."""
        (tmp_path / "pyproject.toml").write_text(KNOWN_TOML, encoding="utf-8")
        monkeypatch.chdir(tmp_path)

        inv = _inventory.from_pyproject(None)

        assert inv["fields"] == KNOWN_FIELDS
        assert inv["source"] == "pyproject.toml"
        assert inv["service"] == "exporter"

    def test_no_table(self, tmp_path: Path) -> None:
        """A pyproject.toml without `[tool.safelog]` is an error, not an empty inventory."""
        (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")

        with pytest.raises(ConfigurationError, match=r"\[tool.safelog\]"):
            _inventory.from_pyproject(tmp_path)


class TestFromModule:
    def test_module_level_configure_is_intercepted(self, module_dir: Path) -> None:
        """configure() at import is recorded, not run, and the code after it never runs."""
        _write_module(
            module_dir,
            "inv_app",
            """
            import safelog
            STARTED = []
            safelog.configure(service="app", fields={"n": safelog.Int(min=1)})
            STARTED.append(1)
            raise SystemExit("the service would start here")
            """,
        )
        handlers = list(logging.getLogger().handlers)

        inv = _inventory.from_module("inv_app")

        assert inv["fields"] == [
            {"name": "n", "kind": "int", "constraints": {"min": 1}, "purpose": ""}
        ]
        assert inv["service"] == "app"
        assert not safelog.is_configured()
        assert logging.getLogger().handlers == handlers
        assert safelog.configure is _config.configure
        assert _config.configure.__module__ == "safelog._config"

    def test_function_that_configures(self, module_dir: Path) -> None:
        """`pkg.mod:func` calls the function with configure intercepted."""
        _write_module(
            module_dir,
            "inv_factory",
            """
            from safelog import Bool, configure
            def create_app():
                try:
                    configure(service="app", fields={"cached": Bool(purpose="hit")})
                except Exception:
                    pass
                raise RuntimeError("must not be reached")
            """,
        )

        inv = _inventory.from_module("inv_factory:create_app")

        assert inv["fields"] == [
            {"name": "cached", "kind": "bool", "constraints": {}, "purpose": "hit"}
        ]
        assert not safelog.is_configured()

    def test_policy_object(self, module_dir: Path) -> None:
        """`pkg.mod:NAME` reads a mapping of field kinds without calling anything."""
        _write_module(
            module_dir,
            "inv_policy",
            """
            import safelog
            FIELDS = {"status": safelog.Enum("ok", "failed")}
            """,
        )

        inv = _inventory.from_module("inv_policy:FIELDS")

        assert [f["name"] for f in inv["fields"]] == ["status"]
        assert inv["source"] == "inv_policy:FIELDS"

    def test_configure_with_pyproject(self, module_dir: Path) -> None:
        """A module that configures from pyproject.toml gets that file's fields."""
        (module_dir / "pyproject.toml").write_text(KNOWN_TOML, encoding="utf-8")
        _write_module(
            module_dir,
            "inv_fromfile",
            f"""
            import safelog
            safelog.configure(pyproject={str(module_dir / "pyproject.toml")!r})
            """,
        )

        inv = _inventory.from_module("inv_fromfile")

        assert inv["fields"] == KNOWN_FIELDS
        assert inv["service"] == "exporter"

    def test_failing_import_names_the_type_only(self, module_dir: Path) -> None:
        """An exception while importing is reported by type, never by its message."""
        _write_module(
            module_dir,
            "inv_broken",
            """
            raise ValueError("canary-7f3a9c customer text")
            """,
        )

        with pytest.raises(ConfigurationError) as info:
            _inventory.from_module("inv_broken")

        assert "ValueError" in str(info.value)
        assert "canary-7f3a9c" not in str(info.value)

    def test_module_that_never_configures(self, module_dir: Path) -> None:
        """A module that does not call configure is an error with a hint."""
        _write_module(module_dir, "inv_quiet", "X = 1\n")

        with pytest.raises(ConfigurationError, match=r"pkg\.mod:create_app"):
            _inventory.from_module("inv_quiet")

    def test_unknown_module(self) -> None:
        """A module that cannot be imported is a ConfigurationError."""
        with pytest.raises(ConfigurationError, match="cannot import"):
            _inventory.from_module("inv_does_not_exist_anywhere")


class TestCommandLine:
    def test_json_on_stdout(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`--format json` prints the inventory of the nearest pyproject.toml."""
        (tmp_path / "pyproject.toml").write_text(KNOWN_TOML, encoding="utf-8")
        monkeypatch.chdir(tmp_path)

        assert _inventory.main(["--format", "json"]) == 0

        assert json.loads(capsys.readouterr().out)["fields"] == KNOWN_FIELDS

    def test_output_file(self, tmp_path: Path) -> None:
        """`--output` writes the Markdown to a file."""
        (tmp_path / "pyproject.toml").write_text(KNOWN_TOML, encoding="utf-8")
        out = tmp_path / "inventory.md"

        assert _inventory.main(["--pyproject", str(tmp_path), "-o", str(out)]) == 0

        assert '| `took` | duration | `unit="s"` | - |' in out.read_text(encoding="utf-8")

    def test_missing_policy_exits_2(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without a policy the command exits 2 with a message on stderr."""
        monkeypatch.chdir(tmp_path)
        (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")

        assert _inventory.main([]) == 2

        captured = capsys.readouterr()
        assert captured.out == ""
        assert "[tool.safelog]" in captured.err

    def test_python_m_safelog_inventory(self) -> None:
        """`python -m safelog inventory` prints the examples' inventory."""
        proc = subprocess.run(
            [sys.executable, "-m", "safelog", "inventory", "--pyproject", str(EXAMPLES_POLICY)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            check=False,
        )

        assert proc.returncode == 0, proc.stderr
        (shown,) = GENERATED.findall(PAGE.read_text(encoding="utf-8"))
        assert proc.stdout == shown

    def test_python_m_safelog_inventory_module(self) -> None:
        """`--module pkg.mod:func` in a subprocess reads the policy a function configures."""
        proc = subprocess.run(
            [
                *(sys.executable, "-m", "safelog", "inventory"),
                *("--module", "field_kinds:main", "--format", "json"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT / "examples",
            check=False,
        )

        assert proc.returncode == 0, proc.stderr
        inv = json.loads(proc.stdout)
        assert inv["service"] == "kinds"
        assert len(inv["fields"]) == 13
        # Intercepted: main() never got as far as logging anything.
        assert '"event":"accepted"' not in proc.stdout + proc.stderr


class TestDocs:
    def test_page_shows_live_output(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The inventory docs/inventory.md shows is exactly what the command prints today."""
        monkeypatch.chdir(ROOT)

        assert _inventory.main(["--pyproject", "examples/pyproject.toml"]) == 0

        live = capsys.readouterr().out
        (shown,) = GENERATED.findall(PAGE.read_text(encoding="utf-8"))
        assert live == shown, (
            "docs/inventory.md is stale; replace the text between its `generated` comments "
            "with the output of: python -m safelog inventory --pyproject examples/pyproject.toml"
        )

    def test_page_names_the_json_keys(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The JSON keys docs/inventory.md lists are the keys --format json prints."""
        monkeypatch.chdir(ROOT)

        assert _inventory.main(["--pyproject", "examples/pyproject.toml", "--format", "json"]) == 0

        inv = json.loads(capsys.readouterr().out)
        section = PAGE.read_text(encoding="utf-8").split("## JSON", 1)[1].split("\n## ", 1)[0]
        for key, value in inv.items():
            assert f"`{key}`" in section, key
            if isinstance(value, list) and value and isinstance(value[0], dict):
                for sub in value[0]:
                    assert f"`{sub}`" in section, f"{key}.{sub}"
