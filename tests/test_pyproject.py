"""The ``[tool.safelog]`` loader."""

from __future__ import annotations

import uuid

from pathlib import Path

import pytest

from safelog import _pyproject
from safelog.policy import ConfigurationError, Enum, Hashed, Id, Int, Route


CANARY = "canary" + uuid.uuid4().hex


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "demo"\n\n' + body)
    return path


class TestLoad:
    def test_shorthand_and_tables(self, tmp_path: Path) -> None:
        """A kind name alone and a table with options both declare a field."""
        path = _write(
            tmp_path,
            """
[tool.safelog]
service = "exporter"
level = "INFO"

[tool.safelog.fields]
request_id = "id"
tenant = { kind = "hashed", purpose = "which customer" }
page_count = { kind = "int", min = 0, max = 1000 }
""",
        )
        loaded = _pyproject.load(path)
        assert loaded is not None
        assert loaded.path == path
        assert loaded.options == {"service": "exporter", "level": "INFO"}
        kinds = loaded.fields.kinds
        assert type(kinds["request_id"]) is Id
        assert type(kinds["tenant"]) is Hashed
        assert kinds["tenant"].purpose == "which customer"
        page_count = kinds["page_count"]
        assert type(page_count) is Int
        assert page_count.clean(1000) == 1000
        assert page_count.clean(1001) == "<rejected:int>"
        assert page_count.clean(-1) == "<rejected:int>"

    def test_enum_values_and_route_templates(self, tmp_path: Path) -> None:
        """'values' and 'templates' become an Enum's and a Route's declared members."""
        path = _write(
            tmp_path,
            """
[tool.safelog.fields]
status = { kind = "enum", values = ["ok", "failed"] }
route = { kind = "route", templates = ["/pages/{page_id}", "/health"] }
""",
        )
        loaded = _pyproject.load(path)
        assert loaded is not None
        status = loaded.fields.kinds["status"]
        route = loaded.fields.kinds["route"]
        assert type(status) is Enum
        assert status.clean("failed") == "failed"
        assert status.clean("other") == "<rejected:enum>"
        assert type(route) is Route
        assert route.clean("/health") == "/health"
        assert route.clean("/pages/42") == "<rejected:route>"

    def test_every_kind_name_loads(self, tmp_path: Path) -> None:
        """Every kind in KINDS can be declared by name (with its required list)."""
        path = _write(
            tmp_path,
            """
[tool.safelog.fields]
a = "int"
b = "float"
c = "duration"
d = "bool"
e = { kind = "enum", values = [1, 2] }
f = "id"
g = "uuid"
h = "hashed"
i = "http_status"
j = "http_method"
k = { kind = "route", templates = ["/x"] }
""",
        )
        loaded = _pyproject.load(path)
        assert loaded is not None
        names = sorted(type(k).kind_name for k in loaded.fields.kinds.values())
        assert names == sorted(
            [
                "int",
                "float",
                "duration",
                "bool",
                "enum",
                "id",
                "uuid",
                "hashed",
                "http_status",
                "http_method",
                "route",
            ]
        )

    def test_no_file_or_no_table_gives_none(self, tmp_path: Path) -> None:
        """Without pyproject.toml, or without [tool.safelog], load() returns None."""
        empty = tmp_path / "empty"
        empty.mkdir()
        path = _write(tmp_path / "empty", "[tool.other]\nx = 1\n")
        assert _pyproject.load(path) is None
        path.unlink()
        if any((d / "pyproject.toml").is_file() for d in empty.parents):
            pytest.skip("a pyproject.toml above the temporary directory")
        assert _pyproject.find_pyproject(empty) is None
        assert _pyproject.load(empty) is None

    def test_searches_upwards_from_a_directory(self, tmp_path: Path) -> None:
        """A directory argument is searched upwards for pyproject.toml."""
        path = _write(tmp_path, '[tool.safelog]\nservice = "up"\n')
        deep = tmp_path / "a" / "b"
        deep.mkdir(parents=True)
        assert _pyproject.find_pyproject(deep) == path
        loaded = _pyproject.load(deep)
        assert loaded is not None
        assert loaded.options["service"] == "up"


class TestErrors:
    def test_unknown_kind(self, tmp_path: Path) -> None:
        """An unknown kind names the field and lists the kinds, not echoing the value."""
        path = _write(tmp_path, f'[tool.safelog.fields]\nnote = "{CANARY}"\n')
        with pytest.raises(ConfigurationError, match=r"note: 'kind' must be one of") as info:
            _pyproject.load(path)
        assert CANARY not in str(info.value)
        assert "hashed" in str(info.value)

    def test_free_text_kind_does_not_exist(self, tmp_path: Path) -> None:
        """There is no 'str' or 'text' kind to declare."""
        for name in ("str", "text", "string"):
            path = _write(tmp_path, f'[tool.safelog.fields]\nnote = "{name}"\n')
            with pytest.raises(ConfigurationError, match="note"):
                _pyproject.load(path)

    def test_unknown_option_of_a_kind(self, tmp_path: Path) -> None:
        """An option the kind does not take is an error naming field and kind."""
        path = _write(tmp_path, '[tool.safelog.fields]\nn = { kind = "int", minimum = 0 }\n')
        with pytest.raises(ConfigurationError, match=r"n: unknown option for kind 'int'"):
            _pyproject.load(path)

    def test_bad_option_value_of_a_kind(self, tmp_path: Path) -> None:
        """A kind's own validation error is reported with the field name."""
        path = _write(tmp_path, '[tool.safelog.fields]\nn = { kind = "int", min = 5, max = 1 }\n')
        with pytest.raises(ConfigurationError, match=r"\[tool.safelog.fields\] n: Int"):
            _pyproject.load(path)

    def test_enum_needs_a_values_list(self, tmp_path: Path) -> None:
        """An enum without a 'values' list is an error."""
        path = _write(tmp_path, '[tool.safelog.fields]\ns = { kind = "enum", values = "ok" }\n')
        with pytest.raises(ConfigurationError, match=r"'values' must be a list"):
            _pyproject.load(path)

    def test_route_needs_templates(self, tmp_path: Path) -> None:
        """A route without 'templates' is an error."""
        path = _write(tmp_path, '[tool.safelog.fields]\nr = { kind = "route" }\n')
        with pytest.raises(ConfigurationError, match="'templates' must be a list"):
            _pyproject.load(path)

    def test_spec_of_the_wrong_type(self, tmp_path: Path) -> None:
        """A field spec that is neither a name nor a table is an error."""
        path = _write(tmp_path, "[tool.safelog.fields]\nn = 3\n")
        with pytest.raises(ConfigurationError, match="must be a kind name or a table"):
            _pyproject.load(path)

    def test_unknown_top_level_option(self, tmp_path: Path) -> None:
        """Options configure() does not take from a file are rejected by name."""
        path = _write(tmp_path, f'[tool.safelog]\nhash_key = "{CANARY}"\n')
        with pytest.raises(ConfigurationError, match="hash_key") as info:
            _pyproject.load(path)
        assert CANARY not in str(info.value)

    def test_reserved_field_name(self, tmp_path: Path) -> None:
        """A field named like a built-in key fails like in configure()."""
        path = _write(tmp_path, '[tool.safelog.fields]\nevent = "id"\n')
        with pytest.raises(ConfigurationError, match="fields"):
            _pyproject.load(path)

    def test_invalid_toml(self, tmp_path: Path) -> None:
        """A file that is not TOML is an error naming the file, not its content."""
        path = tmp_path / "pyproject.toml"
        path.write_text(f"[tool.safelog\n{CANARY} = = 1\n")
        with pytest.raises(ConfigurationError, match=r"pyproject\.toml") as info:
            _pyproject.load(path)
        assert CANARY not in str(info.value)

    def test_fields_must_be_a_table(self, tmp_path: Path) -> None:
        """[tool.safelog] fields given as something else is an error."""
        path = _write(tmp_path, '[tool.safelog]\nfields = ["n"]\n')
        with pytest.raises(ConfigurationError, match="fields"):
            _pyproject.load(path)


class TestKindFromSpec:
    def test_builds_kinds_directly(self) -> None:
        """kind_from_spec accepts the TOML shapes as Python values."""
        assert type(_pyproject.kind_from_spec("x", "uuid")).kind_name == "uuid"
        kind = _pyproject.kind_from_spec("x", {"kind": "id", "max_length": 8})
        assert kind.clean("a" * 8) == "a" * 8
        assert kind.clean("a" * 9) == "<rejected:id>"
