"""Request context: validation of incoming ids, trace correlation, binding and clearing."""

from __future__ import annotations

import asyncio
import contextvars

from typing import Any

import pytest

import safelog

from safelog import _context
from safelog.testing import canary


CANARY = canary("token")
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class TestRequestId:
    def test_valid_incoming_id_is_kept(self) -> None:
        """A valid Id from the header is used as is."""
        assert _context.request_id_from(b"req-1.2:3") == ("req-1.2:3", False)

    def test_missing_id_is_generated(self) -> None:
        """No header: a fresh UUID, not counted as rejected."""
        rid, rejected = _context.request_id_from(None)
        assert len(rid) == 36
        assert rejected is False

    @pytest.mark.parametrize(
        "raw",
        [
            f"{CANARY} with spaces".encode(),
            b"a" * 129,
            b"x" * 4096,
            "caf\u00e9".encode(),
            b"",
            b"id\r\nInjected: yes",
        ],
    )
    def test_bad_incoming_id_is_replaced_and_counted(self, raw: bytes) -> None:
        """An over-long, non-ASCII or content-bearing id is replaced and counted, never kept."""
        before = _context.counters.request_ids_replaced
        rid, rejected = _context.request_id_from(raw)
        assert rejected is True
        assert rid.encode() != raw
        assert len(rid) == 36
        assert _context.counters.request_ids_replaced == before + 1


class TestTrace:
    def test_traceparent(self) -> None:
        """A W3C traceparent yields its trace and parent span ids."""
        assert _context.trace_from_traceparent(TRACEPARENT.encode()) == {
            "trace_id": "0af7651916cd43dd8448eb211c80319c",
            "span_id": "b7ad6b7169203331",
        }

    @pytest.mark.parametrize(
        "raw",
        [
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",  # upper case
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # zero trace
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  # zero span
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # forbidden version
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
            f"00-{CANARY}-b7ad6b7169203331-01",
            "",
        ],
    )
    def test_malformed_traceparent_is_dropped(self, raw: str) -> None:
        """Anything but lower-case hex of the right lengths is dropped."""
        assert _context.trace_from_traceparent(raw) is None

    def test_xray_header(self) -> None:
        """X-Amzn-Trace-Id: the 32-hex trace id, the X-Ray form, and the parent as span id."""
        assert _context.trace_from_amzn(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        ) == {
            "trace_id": "5759e988bd862e3fe1be46a994272793",
            "xray_trace_id": "1-5759e988-bd862e3fe1be46a994272793",
            "span_id": "53995c3f42cd8ad8",
        }

    @pytest.mark.parametrize(
        "raw",
        ["Root=2-5759e988-bd862e3fe1be46a994272793", f"Root={CANARY}", "Sampled=1", "x" * 600],
    )
    def test_malformed_xray_is_dropped(self, raw: str) -> None:
        """An X-Ray header without a valid Root is dropped."""
        assert _context.trace_from_amzn(raw) is None

    def test_traceparent_preferred_xray_form_kept(self) -> None:
        """traceparent wins for trace and span; the X-Ray form is kept beside it."""
        fields, rejected = _context.trace_fields(
            TRACEPARENT, "Root=1-5759e988-bd862e3fe1be46a994272793"
        )
        assert rejected is False
        assert fields["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
        assert fields["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"

    def test_malformed_header_counted(self) -> None:
        """A malformed trace header is dropped and counted."""
        before = _context.counters.traces_rejected
        fields, rejected = _context.trace_fields(f"00-{CANARY}", None)
        assert (fields, rejected) == ({}, True)
        assert _context.counters.traces_rejected == before + 1

    def test_opentelemetry_span_wins_when_recording(self) -> None:
        """The current OpenTelemetry span, when recording, gives the trace and span ids."""
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider

        tracer = TracerProvider().get_tracer("test")
        with tracer.start_as_current_span("request") as span:
            sc = span.get_span_context()
            fields, _ = _context.trace_fields(TRACEPARENT, None)
        assert fields == {"trace_id": f"{sc.trace_id:032x}", "span_id": f"{sc.span_id:016x}"}
        # No span recording: the header again.
        assert not trace.get_current_span().is_recording()
        fields, _ = _context.trace_fields(TRACEPARENT, None)
        assert fields["trace_id"] == "0af7651916cd43dd8448eb211c80319c"


class TestBinding:
    def test_fields_reach_structlog_and_stdlib_records_then_clear(self, console: Any) -> None:
        """Bound fields reach every record in the context, and none after it is closed."""
        import logging

        safelog.configure(service="svc", console=console.stream)
        token = _context.activate(_context.RequestContext({"request_id": "r-1", "method": "GET"}))
        safelog.get_logger("t").info("inside")
        logging.getLogger("t").warning("inside_stdlib")
        _context.deactivate(token)
        safelog.get_logger("t").info("outside")
        inside, inside_stdlib, outside = console.records()
        assert inside["request_id"] == inside_stdlib["request_id"] == "r-1"
        assert "request_id" not in outside

    def test_context_wins_over_a_call_argument(self, console: Any) -> None:
        """A call cannot make a record carry another request's id."""
        safelog.configure(service="svc", console=console.stream)
        token = _context.activate(_context.RequestContext({"request_id": "mine"}))
        safelog.get_logger("t").info("x", request_id="someone-elses")
        _context.deactivate(token)
        assert console.records()[0]["request_id"] == "mine"

    def test_declared_kind_narrows_context_values(self, console: Any) -> None:
        """A policy declaring a built-in name governs the integration's values too."""
        safelog.configure(
            service="svc", console=console.stream, fields={"status": safelog.Enum("ok", "failed")}
        )
        token = _context.activate(_context.RequestContext({"status": 200}))
        safelog.get_logger("t").info("x")
        _context.deactivate(token)
        assert console.records()[0]["status"] == "<rejected:enum>"

    def test_compatible_declaration_stays_valid(self, console: Any) -> None:
        """Built-in names declared with compatible kinds (examples/pyproject.toml) stay valid."""
        safelog.configure(
            service="svc",
            console=console.stream,
            fields={
                "request_id": safelog.Id(max_length=36),
                "method": safelog.HttpMethod(),
                "status": safelog.HttpStatus(),
                "route": safelog.Route("/pages/{page_id}"),
                "duration_ms": safelog.Duration(),
            },
        )
        token = _context.activate(
            _context.RequestContext(
                {"request_id": "r-2", "status": 201, "route": "/pages/{page_id}"}
            )
        )
        safelog.get_logger("t").info("x", duration_ms=1.5, method="get")
        _context.deactivate(token)
        (record,) = console.records()
        assert (record["request_id"], record["status"], record["route"]) == (
            "r-2",
            201,
            "/pages/{page_id}",
        )
        assert (record["duration_ms"], record["method"]) == (1.5, "GET")

    def test_builtin_fields_need_no_declaration_in_calls(self, console: Any) -> None:
        """status, method, request_id... pass their built-in kinds without a declaration."""
        safelog.configure(service="svc", console=console.stream)
        safelog.get_logger("t").info("x", status=404, method="post", request_id=CANARY + " x")
        (record,) = console.records()
        assert record["status"] == 404
        assert record["method"] == "POST"
        assert record["request_id"] == "<rejected:id>"

    def test_none_is_null_for_declared_fields(self, console: Any) -> None:
        """None for a declared field is JSON null, not a marker."""
        safelog.configure(service="svc", console=console.stream, fields={"n": safelog.Int()})
        safelog.get_logger("t").info("x", n=None, status=None)
        (record,) = console.records()
        assert record["n"] is None
        assert record["status"] is None
        assert "dropped" not in record

    def test_concurrent_tasks_do_not_share_context(self, console: Any) -> None:
        """Tasks each bind their own context; no record carries another task's id."""
        safelog.configure(service="svc", console=console.stream, fields={"n": safelog.Int()})
        log = safelog.get_logger("t")

        async def one(n: int) -> None:
            token = _context.activate(_context.RequestContext({"request_id": f"r{n}"}))
            for _ in range(3):
                log.info("step", n=n)
                await asyncio.sleep(0)
            _context.deactivate(token)

        async def main() -> None:
            await asyncio.gather(*(one(n) for n in range(50)))

        asyncio.run(main())
        records = console.records()
        assert len(records) == 150
        assert all(r["request_id"] == f"r{r['n']}" for r in records)

    def test_deactivate_from_another_context_never_raises(self) -> None:
        """A token reset from a foreign context is ignored; that context keeps its own."""
        token = _context.activate(_context.RequestContext({"request_id": "a"}))
        other = contextvars.Context()
        other.run(_context.deactivate, token)
        assert _context.current() is not None
        _context.deactivate(token)
        assert _context.current() is None


class TestRoute:
    def test_template_and_markers(self) -> None:
        """A router template passes; none is the unmatched marker; odd text the route marker."""
        assert _context.route_template("/items/{item_id}") == "/items/{item_id}"
        assert _context.route_template("items/<int:item_no>") == "items/<int:item_no>"
        assert _context.route_template(None) == "<unmatched>"
        assert _context.route_template("/a b") == "<rejected:route>"
        assert _context.route_template(b"/x") == "<rejected:route>"
