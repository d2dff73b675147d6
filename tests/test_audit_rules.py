"""The audit's rules: stored records judged by the runtime's validators and content shapes."""

from __future__ import annotations

import json

from pathlib import Path

import safelog

from audit_corpus import EMAIL, SECRET
from safelog.audit import RecordChecker
from safelog.audit._rules import kind_passes, looks_like_content
from safelog.policy import FieldPolicy


class TestRules:
    def test_runtime_validators_decide_kinds(self) -> None:
        """A stored value passes when the runtime kind returns it unchanged, or is its marker."""
        assert kind_passes(safelog.Int(min=0), 3)
        assert not kind_passes(safelog.Int(min=0), -1)
        assert not kind_passes(safelog.Int(), "3")
        assert kind_passes(safelog.Int(), "<rejected:int>")
        assert kind_passes(safelog.Float(), 3)
        assert kind_passes(safelog.Duration(), 1.5)
        assert kind_passes(safelog.Uuid(), "12345678-1234-1234-1234-123456789abc")
        assert not kind_passes(safelog.Uuid(), "12345678123412341234123456789ABC")
        assert kind_passes(safelog.Hashed(), "k1a2b3c4:" + "a" * 26)
        assert not kind_passes(safelog.Hashed(), "acme")
        assert not kind_passes(safelog.HttpMethod(), "get")

    def test_content_shapes(self) -> None:
        """E-mails, card numbers, URLs with queries, JWTs and tokens look like content."""
        for text in [
            EMAIL,
            "4111 1111 1111 1111",
            "https://x.io/a?b=c",
            SECRET,
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc",
        ]:
            assert looks_like_content(text), text
        for text in [
            "export.finished",
            "app.handlers.upload_file",
            "1234567890123",
            "/pages/{page_id}",
        ]:
            assert not looks_like_content(text), text

    def test_error_and_stack_records_from_safelog_conform(self) -> None:
        """safelog's error records (type, frames, fingerprint, causes) are built-in metadata."""
        record = {
            "event": "x",
            "error": {
                "type": "ValueError",
                "frames": [
                    {"module": "a.b", "function": "f.<locals>.g", "line": 3},
                    {"omitted": 4},
                ],
                "fingerprint": "0123abcd",
                "cause": {"type": "KeyError", "frames": []},
            },
            "stack": [{"module": "a", "function": "<module>", "line": None}],
        }
        assert RecordChecker(FieldPolicy()).check(json.dumps(record)) == []
        record["error"]["message"] = EMAIL  # type: ignore[index]
        assert RecordChecker(FieldPolicy()).check(json.dumps(record)) == ["SA203", "SA401"]


class TestTables:
    def test_every_documented_builtin_key_is_known(self) -> None:
        """Every key the inventory documents as built-in metadata is one the audit accepts."""
        from safelog._inventory import BUILTINS
        from safelog.audit._rules import BUILTIN_KEYS

        # `_aws` (EMF metadata) is checked apart, by its own rules.
        documented = {b.name for b in BUILTINS if not b.name.endswith("*")} - {"_aws"}
        assert documented <= BUILTIN_KEYS
        assert {b.name for b in BUILTINS if b.name.endswith("*")} == {"cloudwatch_*"}

    def test_safelog_records_conform(self, console) -> None:  # type: ignore[no-untyped-def]
        """Records safelog renders (fields, rejects, drops, errors, stack) break no audit rule."""
        policy = FieldPolicy({"status": safelog.Enum("ok", "failed"), "n": safelog.Int(min=0)})
        safelog.configure(service="svc", fields=dict(policy.kinds), console=console.stream)
        log = safelog.get_logger("app")
        log.info("a.b", status="ok", n=3)
        log.info("a.b", status=EMAIL, n=-1, other=SECRET)
        log.info("a.b", stack_info=True)
        try:
            raise KeyError(EMAIL)  # noqa: TRY301 -- the exception under test
        except KeyError:
            log.exception("a.failed")
        safelog.shutdown()
        checker = RecordChecker(policy)
        lines = console.text.splitlines()
        assert len(lines) == 4
        assert [checker.check(line) for line in lines] == [[], [], [], []]

    def test_safelog_own_events_are_its_literals(self) -> None:
        """Each event the audit knows as safelog's own is still a string literal of safelog."""
        import ast

        from safelog.audit._rules import MARKER_EVENTS

        root = Path(safelog.__file__).parent
        literals: set[str] = set()
        for path in root.rglob("*.py"):
            if "audit" in path.relative_to(root).parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    literals.add(node.value)
        assert literals >= MARKER_EVENTS, sorted(MARKER_EVENTS - literals)

    def test_own_events_pass_with_source(self) -> None:
        """With --source, safelog's own events are not unknown events."""
        checker = RecordChecker(FieldPolicy(), events={"app.started"})
        for event in ("uncaught_exception", "safelog.cloudwatch.loss", "<non-constant-event>"):
            assert checker.check(json.dumps({"event": event})) == []
        assert checker.check(json.dumps({"event": "billing.charged"})) == ["SA301"]


class TestEmbeddedMetrics:
    def test_safelog_emf_records_conform(self, console) -> None:  # type: ignore[no-untyped-def]
        """EMF records safelog renders (metrics, text dimensions) break no rule."""
        fields = {
            "duration_ms": safelog.Duration(metric=True),
            "pages": safelog.Int(min=0, metric="Count"),
            "outcome": safelog.Enum("ok", "failed", dimension=True),
            "status": safelog.HttpStatus(dimension=True),
            "cached": safelog.Bool(dimension=True),
        }
        safelog.configure(
            service="svc", fields=fields, metrics_namespace="My App/Exports", console=console.stream
        )
        log = safelog.get_logger("app")
        log.info("export.done", duration_ms=812.5, pages=3, outcome="ok", status=200, cached=True)
        log.info("export.done", duration_ms=-1, pages=2, outcome=EMAIL, status=999)
        safelog.shutdown()
        lines = console.text.splitlines()
        assert all('"_aws"' in line for line in lines)
        checker = RecordChecker(FieldPolicy(fields))
        assert [checker.check(line) for line in lines] == [[], []]

    def test_forged_emf_is_found(self) -> None:
        """An _aws member naming undeclared metrics or dimensions is bad metadata."""
        fields = {"pages": safelog.Int(min=0, metric="Count")}
        checker = RecordChecker(FieldPolicy(fields))
        emf = {
            "event": "x",
            "pages": 3,
            "_aws": {
                "Timestamp": 1,
                "CloudWatchMetrics": [
                    {
                        "Namespace": "N",
                        "Dimensions": [["tenant"]],
                        "Metrics": [{"Name": "pages", "Unit": "Count"}],
                    }
                ],
            },
        }
        assert checker.check(json.dumps(emf)) == ["SA203"]
        emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = [[]]  # type: ignore[index]
        assert checker.check(json.dumps(emf)) == []
        emf["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = "Seconds"  # type: ignore[index]
        assert checker.check(json.dumps(emf)) == ["SA203"]


class TestMetricsRecords:
    def test_records_of_metrics_buffering_and_sampling_conform(self, tmp_path) -> None:
        """EMF records, log.metric(), held and sampled records of safelog pass the audit."""
        import subprocess
        import sys

        script = tmp_path / "svc.py"
        script.write_text(
            "import safelog\n"
            "F = {'pages': safelog.Int(metric='Count'),\n"
            "     'code': safelog.HttpStatus(dimension=True),\n"
            "     'cached': safelog.Bool(dimension=True),\n"
            "     'status': safelog.Enum('ok', 1, dimension=True)}\n"
            "safelog.configure(service='s', console='stdout', fields=F, metrics_namespace='N',\n"
            "                  buffer_level='DEBUG', sampling_rate=1.0)\n"
            "log = safelog.get_logger(__name__)\n"
            "log.metric('m.done', pages=1, code=200, cached=True, status=1)\n"
            "with safelog.buffered():\n"
            "    log.debug('d.one')\n"
            "    log.info('i.one', pages=2, status='ok')\n"
            "    log.info('i.two')\n"
            "    log.error('e.one')\n",
            encoding="utf-8",
        )
        proc = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
        )
        lines = proc.stdout.splitlines()
        assert len(lines) == 5
        policy = FieldPolicy(
            {
                "pages": safelog.Int(metric="Count"),
                "code": safelog.HttpStatus(dimension=True),
                "cached": safelog.Bool(dimension=True),
                "status": safelog.Enum("ok", 1, dimension=True),
            }
        )
        checker = RecordChecker(policy)
        assert [checker.check(line) for line in lines] == [[]] * 5
        emf = json.loads(lines[0])
        assert (emf["code"], emf["cached"], emf["status"]) == ("200", "true", "1")

    def test_a_dimension_string_outside_the_declared_set_is_flagged(self) -> None:
        """Only the strings the embedder writes for valid values pass as dimensions."""
        policy = FieldPolicy(
            {"pages": safelog.Int(metric="Count"), "code": safelog.HttpStatus(dimension=True)}
        )
        aws = {
            "Timestamp": 1,
            "CloudWatchMetrics": [
                {
                    "Namespace": "N",
                    "Dimensions": [["code"]],
                    "Metrics": [{"Name": "pages", "Unit": "Count"}],
                }
            ],
        }
        base = {"event": "x", "pages": 1, "_aws": aws}
        checker = RecordChecker(policy)
        assert checker.check(json.dumps({**base, "code": "200"})) == []
        assert checker.check(json.dumps({**base, "code": "999"})) == ["SA202"]
        # Outside an EMF record the value must be the kind's own type.
        assert checker.check(json.dumps({"event": "x", "code": "200"})) == ["SA202"]
