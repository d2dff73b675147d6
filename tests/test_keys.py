"""The one table of the keys safelog writes: every consumer derives from it."""

from __future__ import annotations

import json
import secrets

from typing import Any

import safelog

from safelog import _context, _keys
from safelog._inventory import BUILTINS, RESERVED_INPUTS, inventory
from safelog.audit import RecordChecker
from safelog.audit._rules import BUILTIN_JUDGES, BUILTIN_KEYS
from safelog.cloudwatch._limits import CUT_MARKER, cut_line
from safelog.policy import RESERVED_KEYS, FieldPolicy


class TestTable:
    def test_each_key_once(self) -> None:
        """No key appears twice in the table, and no emitted key is also an input."""
        names = [k.name for k in _keys.KEYS]
        assert len(names) == len(set(names))
        assert not set(names) & set(_keys.INPUTS)

    def test_consumers_use_the_table(self) -> None:
        """The reserved set, the inventory and the audit's keys are the table's."""
        assert RESERVED_KEYS is _keys.RESERVED
        assert BUILTINS is _keys.KEYS
        assert RESERVED_INPUTS is _keys.INPUTS
        assert BUILTIN_KEYS is _keys.RECORD_KEYS
        # The audit has a judge for every key the table names, and no other.
        assert set(BUILTIN_JUDGES) == _keys.RECORD_KEYS

    def test_reserved_set_is_unchanged(self) -> None:
        """The reserved keys are those of 0.1: the table changed where they live, not which."""
        assert {
            *("timestamp", "level", "logger", "event", "service", "environment", "host"),
            *("pid", "module", "function", "line", "dropped", "error", "stack"),
            *("exc_info", "stack_info", "safelog", "positional_args"),
            *("_aws", "buffered", "sampling_rate"),
        } == RESERVED_KEYS

    def test_cut_order_is_unchanged(self) -> None:
        """CloudWatch keeps the record's identity first, then the call site, then `dropped`."""
        assert (
            *("timestamp", "level", "logger", "event", "service", "environment", "host"),
            *("pid", "module", "function", "line", "dropped"),
        ) == _keys.CUT_KEEP_FIRST


def _records(console: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in console.text.splitlines()]


class TestRuntimeRecords:
    def test_every_key_written_is_in_the_table(self, console: Any) -> None:
        """Each key of real records (drops, errors, stack, metrics, buffering, sampling, cut)
        is a declared field or a table key, accepted by the audit and in the inventory."""
        fields = {
            "pages": safelog.Int(min=0, metric="Count", purpose="pages exported"),
            "outcome": safelog.Enum("ok", "failed", dimension=True),
        }
        safelog.configure(
            service="svc",
            environment="test",
            fields=fields,
            console=console.stream,
            metrics_namespace="Keys/Test",
            buffer_level="DEBUG",
            sampling_rate=1,
            hash_key=secrets.token_hex(32),
        )
        log = safelog.get_logger("app")
        log.info("keys.plain", pages=1, undeclared="x")
        log.info("keys.stack", stack_info=True)
        try:
            raise KeyError("k")  # noqa: TRY301 -- the exception under test
        except KeyError:
            log.exception("keys.failed")
        log.metric("keys.metric", pages=3, outcome="ok")
        with safelog.buffered():
            log.debug("keys.held")
            log.info("keys.sampled")
            log.error("keys.scope_failed")
        safelog.shutdown()
        lines = console.text.splitlines()
        big = json.loads(lines[0])
        # Past CloudWatch's 1 MiB event limit: the oversized key is cut.
        big["pages"] = "x" * 1_100_000
        cut, _ = cut_line(json.dumps(big), 1_100_100)
        lines.append(cut)

        records = [json.loads(line) for line in lines]
        written = {key for record in records for key in record}
        table = written - set(fields)
        # The features above really wrote their keys.
        assert {"dropped", "error", "stack", "_aws", "buffered", "sampling_rate"} <= table
        assert CUT_MARKER in table
        assert table <= _keys.RECORD_KEYS, sorted(table - _keys.RECORD_KEYS)
        documented = {m["name"] for m in inventory(FieldPolicy(fields))["metadata"]}
        assert table <= documented
        checker = RecordChecker(FieldPolicy(fields))
        assert [checker.check(line) for line in lines] == [[] for _ in lines]

    def test_a_call_cannot_forge_a_reserved_key(self, console: Any) -> None:
        """Call arguments named like reserved keys never reach the record under that name."""
        safelog.configure(service="svc", console=console.stream)
        log = safelog.get_logger("app")
        forged = {k: "X-FORGED-X" for k in RESERVED_KEYS if k not in {"event", "exc_info"}}
        forged.pop("stack_info")
        log.info("keys.forged", **forged)
        safelog.shutdown()
        (record,) = _records(console)
        assert "X-FORGED-X" not in json.dumps(record)
        assert record["dropped"] == len(forged)


class TestRequestFields:
    def test_request_fields_conform(self, console: Any) -> None:
        """The integrations' request fields in real records are accepted by the audit."""
        from safelog.wsgi import SafelogMiddleware

        safelog.configure(service="svc", console=console.stream)

        def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            safelog.get_logger("app").info("keys.inside")
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]

        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/x",
            "HTTP_X_REQUEST_ID": "req-1",
            "HTTP_TRACEPARENT": "00-" + "a" * 32 + "-" + "b" * 16 + "-01",
        }
        body = SafelogMiddleware(app)(environ, lambda *_: None)
        assert b"".join(body) == b"ok"
        body.close()  # type: ignore[attr-defined]
        safelog.shutdown()
        lines = console.text.splitlines()
        written = {key for line in lines for key in json.loads(line)}
        request = written - _keys.RECORD_KEYS
        assert {"request_id", "trace_id", "span_id", "method", "route", "status"} <= request
        assert request <= set(_context.BUILTIN_FIELDS)
        documented = {r["name"] for r in inventory(FieldPolicy())["request_fields"]}
        assert request <= documented
        checker = RecordChecker(FieldPolicy())
        assert [checker.check(line) for line in lines] == [[] for _ in lines]

    def test_described_and_kinded_fields_are_the_same(self) -> None:
        """Each request field the integrations may write has a description and a kind entry."""
        assert list(_keys.REQUEST_FIELDS) == list(_context.BUILTIN_FIELDS)
        assert not set(_keys.REQUEST_FIELDS) & (_keys.RECORD_KEYS | _keys.RESERVED)

    def test_forged_request_fields_are_flagged(self) -> None:
        """A request field holding what no integration writes breaks an audit rule."""
        checker = RecordChecker(FieldPolicy())
        ok = {"event": "http_request", "route": "/users/{id}", "task_state": None}
        assert checker.check(json.dumps(ok)) == []
        for key, value in [
            ("route", "/users/alice@example.com?x=1 y"),
            ("task_state", "alice"),
            ("event_type", "an order"),
            ("request_id", "has spaces in it"),
            ("status", 9000),
        ]:
            assert checker.check(json.dumps({"event": "x", key: value})) != [], key
