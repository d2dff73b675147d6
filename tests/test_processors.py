# ruff: noqa: G004, TRY301 -- leaky logging calls are what these tests feed the chain; raise-in-try makes exc_info
"""The sanitizing stages: PolicyFilter, EventGuard, the renderer and the small stages."""

from __future__ import annotations

import copy
import datetime as dt
import enum
import json
import logging
import re
import sys
import uuid

from typing import Any

import pytest

import safelog

from safelog.policy import FieldPolicy, Hashed, Int, Kind, make_hash_key
from safelog.processors import (
    MARKER_EVENT,
    MARKER_LOGGER,
    MARKER_UNRENDERABLE,
    DropCounts,
    EventGuard,
    ExceptionSanitizer,
    JSONLineRenderer,
    PolicyFilter,
    StdlibOrigin,
    add_log_level,
    add_timestamp,
    render_json_line,
)
from strategies import qualname_or_name


CANARY = "canary" + uuid.uuid4().hex
META = {"service": "svc", "host": "h", "pid": 1}
BUILTIN = ("timestamp", "level", "logger", "event", "module", "function", "line")


class Named:
    """A stand-in for the wrapped logger: only its name matters here."""

    def __init__(self, name: object) -> None:
        self.name = name


class Clever:
    def __str__(self) -> str:
        return CANARY

    def __repr__(self) -> str:
        return CANARY


class HostileStr(str):
    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return hash("page_count")

    def __str__(self) -> str:
        return CANARY


class Passthrough(Kind):
    """A (wrong) custom kind that lets text through: the renderer must still hold."""

    kind_name = "passthrough"

    def clean(self, value: object) -> Any:
        return value if type(value) is str else self.marker


class Exploding(Kind):
    kind_name = "exploding"

    def clean(self, value: object) -> Any:
        raise RuntimeError(CANARY)


class Events(enum.Enum):
    EXPORTED = "page_exported"


class NumberedEvents(enum.IntEnum):
    ONE = 1


def _filter(**fields: Kind) -> PolicyFilter:
    key = make_hash_key(b"processors-test-key-" + b"0123456789abcdef")
    return PolicyFilter(FieldPolicy(fields), key, META)


def _configure(console: Any, **fields: Kind) -> Any:
    safelog.configure(service="svc", fields=fields, console=console.stream)
    return safelog.get_logger(__name__)


class TestPolicyFilter:
    def test_builds_a_fresh_dict(self) -> None:
        """The output is a new dict, never the incoming one."""
        incoming = {"event": "e", "page_count": 3}
        out = _filter(page_count=Int())(None, "info", incoming)
        assert out is not incoming
        assert out["page_count"] == 3
        assert out["service"] == "svc"

    def test_input_is_not_mutated(self) -> None:
        """The caller's dict is left exactly as it was."""
        incoming: dict[str, Any] = {
            "event": "e",
            "page_count": "bad",
            "secret": CANARY,
            "nested": {"a": [CANARY]},
        }
        before = copy.deepcopy(incoming)
        _filter(page_count=Int())(None, "info", incoming)
        assert incoming == before

    def test_dropped_keys_are_counted_never_named(self) -> None:
        """Undeclared keys are counted in 'dropped' and neither key nor value survives."""
        out = _filter(page_count=Int())(
            None, "info", {"event": "e", CANARY: 1, "email": CANARY, "page_count": 2}
        )
        assert out["dropped"] == 2
        assert out["page_count"] == 2
        assert CANARY not in json.dumps(out, default=str)

    def test_nothing_dropped_means_no_dropped_key(self) -> None:
        """'dropped' appears only when something was dropped."""
        out = _filter(page_count=Int())(None, "info", {"event": "e", "page_count": 2})
        assert "dropped" not in out

    def test_rejected_values_become_the_kinds_marker(self) -> None:
        """A declared field with a wrong value gets the kind's marker."""
        out = _filter(page_count=Int())(None, "info", {"event": "e", "page_count": CANARY})
        assert out["page_count"] == "<rejected:int>"

    def test_built_in_keys_come_from_the_template(self) -> None:
        """Metadata keys are set by the filter and built-in placeholders are present."""
        out = _filter()(None, "info", {"event": "e"})
        for key in BUILTIN:
            assert key in out
        assert (out["service"], out["host"], out["pid"]) == ("svc", "h", 1)

    def test_reserved_keys_cannot_be_overridden(self) -> None:
        """Call arguments named like built-in keys are dropped, not emitted."""
        incoming = dict.fromkeys(("service", "host", "pid", "level", "logger", "module"), CANARY)
        incoming |= {"function": CANARY, "line": CANARY, "dropped": CANARY, "timestamp": CANARY}
        out = _filter()(None, "info", incoming)
        assert out["service"] == "svc"
        assert out["dropped"] == len(incoming)
        assert CANARY not in json.dumps(out, default=str)

    def test_positional_args_are_counted_each(self) -> None:
        """The chain's positional_args tuple counts one per argument."""
        out = _filter()(None, "info", {"event": "e", "positional_args": (CANARY, 1, 2)})
        assert out["dropped"] == 3

    def test_non_string_keys_are_dropped(self) -> None:
        """Keys that are not strings are counted as dropped, never rendered."""
        incoming: dict[Any, Any] = {"event": "e", 1: CANARY, ("a",): CANARY, None: CANARY}
        out = _filter(page_count=Int())(None, "info", incoming)
        assert out["dropped"] == 3
        assert CANARY not in json.dumps(out, default=str)

    def test_str_subclass_key_emits_the_policys_name_and_a_cleaned_value(self) -> None:
        """A str-subclass key equal to a declared name is emitted under the policy's exact name."""
        incoming: dict[Any, Any] = {"event": "e", HostileStr("page_count"): CANARY}
        out = _filter(page_count=Int())(None, "info", incoming)
        assert all(type(k) is str for k in out)
        assert out["page_count"] == "<rejected:int>"
        assert CANARY not in render_json_line(out)

    def test_hostile_key_still_yields_a_record(self, console) -> None:
        """A key whose __hash__ raises inside safelog never raises into the caller."""
        log = _configure(console, page_count=Int())

        class FlakyStr(str):
            """Hashes for the caller, raises once safelog's code asks."""

            __slots__ = ()

            def __hash__(self) -> int:
                asker = sys._getframe(1).f_globals.get("__name__", "")
                if asker.startswith("safelog"):
                    raise RuntimeError(CANARY)
                return str.__hash__(self)

        kwargs = {FlakyStr("k" + CANARY): CANARY, "page_count": 1}
        log.info("with_flaky_key", **kwargs)
        (record,) = console.records()
        assert record["event"] in {"with_flaky_key", "<safelog-internal-error>"}
        assert record["service"] == "svc"
        assert record["level"] == "info"
        assert CANARY not in console.text

    def test_a_kind_that_raises_gives_a_marker(self) -> None:
        """A custom kind that raises yields a fixed marker, never the exception text."""
        out = _filter(size=Exploding())(None, "info", {"event": "e", "size": 1})
        assert out["size"] in {"<rejected:exploding>", MARKER_UNRENDERABLE}
        assert CANARY not in json.dumps(out, default=str)

    def test_a_kind_returning_a_non_scalar_gives_a_marker(self) -> None:
        """A custom kind returning a container is replaced by a fixed marker."""

        class Leaky(Kind):
            kind_name = "leaky"

            def clean(self, value: object) -> Any:
                return [value]

        out = _filter(size=Leaky())(None, "info", {"event": "e", "size": CANARY})
        assert out["size"] in {"<rejected:leaky>", MARKER_UNRENDERABLE}
        assert CANARY not in render_json_line(out)

    def test_hashed_fields_are_pseudonymised(self) -> None:
        """A Hashed field's value is replaced by its keyed pseudonym."""
        out = _filter(tenant=Hashed())(None, "info", {"event": "e", "tenant": CANARY})
        assert CANARY not in out["tenant"]
        assert re.fullmatch(r"k[0-9a-f]{8}:[a-z2-7]{26}", out["tenant"])

    def test_update_metadata_changes_later_records(self) -> None:
        """update_metadata (the pid after fork) applies to later records."""
        pf = _filter()
        pf.update_metadata(pid=42)
        assert pf(None, "info", {"event": "e"})["pid"] == 42


class TestEventGuard:
    def test_literal_event_passes(self) -> None:
        """A string literal of the calling code is kept."""
        out = EventGuard()(Named(None), "info", {"event": "page_exported"})
        assert out["event"] == "page_exported"

    def test_fstring_event_is_marked_even_if_identifier_like(self) -> None:
        """f"user_{id}" is replaced by the marker although it looks like an identifier."""
        account_id = uuid.uuid4().hex[:8]
        event = f"user_{account_id}"
        assert event.isidentifier()
        out = EventGuard()(Named(None), "info", {"event": event})
        assert out["event"] == MARKER_EVENT
        assert account_id not in json.dumps(out)

    def test_call_site_is_kept(self) -> None:
        """Module, function and line of the call are recorded, also for a marked event."""
        line = sys._getframe().f_lineno + 1
        out = EventGuard()(Named(None), "info", {"event": CANARY})
        assert out["event"] == MARKER_EVENT
        assert out["module"] == __name__
        assert out["function"] == qualname_or_name("TestEventGuard.test_call_site_is_kept")
        assert out["line"] == line

    def test_enum_member_events_pass_as_their_value(self) -> None:
        """An enum member with a str value is a constant."""
        out = EventGuard()(Named(None), "info", {"event": Events.EXPORTED})
        assert out["event"] == "page_exported"
        out = EventGuard()(Named(None), "info", {"event": NumberedEvents.ONE})
        assert out["event"] == MARKER_EVENT

    def test_enum_built_from_data_is_not_a_constant(self) -> None:
        """An Enum created at runtime from data is not a constant event."""
        runtime_enum = enum.Enum("Runtime", [("X", CANARY)])  # type: ignore[misc]
        out = EventGuard()(Named(None), "info", {"event": runtime_enum.X})
        assert out["event"] == MARKER_EVENT

    @pytest.mark.parametrize("event", [None, 1, b"page_exported", Clever(), ["page_exported"]])
    def test_non_strings_are_marked(self, event: object) -> None:
        """Events that are not strings become the marker, never their text."""
        out = EventGuard()(Named(None), "info", {"event": event})
        assert out["event"] == MARKER_EVENT

    def test_str_subclass_event_is_marked(self) -> None:
        """A str subclass equal to a literal is not an exact literal."""

        class Sub(str):
            __slots__ = ()

        out = EventGuard()(Named(None), "info", {"event": Sub("page_exported")})
        assert out["event"] == MARKER_EVENT

    def test_overlong_literal_is_marked(self) -> None:
        """An event longer than the limit is marked even if it is a literal."""
        long_literal = "x" * 300
        out = EventGuard()(Named(None), "info", {"event": long_literal})
        assert out["event"] == MARKER_EVENT

    def test_logger_names(self) -> None:
        """Module and literal logger names pass; runtime-built and non-str names are marked."""
        guard = EventGuard()
        assert guard(Named("json"), "info", {"event": "e"})["logger"] == "json"
        assert guard(Named("my.literal_name"), "info", {"event": "e"})["logger"] == (
            "my.literal_name"
        )
        assert guard(Named(None), "info", {"event": "e"})["logger"] == __name__
        runtime = "tenant_" + uuid.uuid4().hex
        assert guard(Named(runtime), "info", {"event": "e"})["logger"] == MARKER_LOGGER
        assert guard(Named(Clever()), "info", {"event": "e"})["logger"] == MARKER_LOGGER
        assert guard(Named("has space"), "info", {"event": "e"})["logger"] == MARKER_LOGGER

    def test_through_the_chain(self, console) -> None:
        """A constant event and an f-string event, end to end, with call sites."""
        log = _configure(console)
        account_id = uuid.uuid4().hex
        log.info("page_exported")
        line = sys._getframe().f_lineno + 1
        log.info(f"user_{account_id}")
        first, second = console.records()
        assert first["event"] == "page_exported"
        assert second["event"] == MARKER_EVENT
        assert second["line"] == line
        assert second["function"] == qualname_or_name("TestEventGuard.test_through_the_chain")
        assert account_id not in console.text


class TestRecordLineNumbers:
    """Issue 16.3: a record's line number is a real line of its file, or nothing."""

    @staticmethod
    def _forged(lineno: object, pathname: str = __file__) -> logging.LogRecord:
        return logging.makeLogRecord(
            {
                "name": __name__,
                "msg": "forged_line_record",
                "levelno": logging.ERROR,
                "levelname": "ERROR",
                "pathname": pathname,
                "lineno": lineno,
            }
        )

    @pytest.mark.parametrize("lineno", [4111111111111111, 10**9, 0, -5, 2**70])
    def test_card_number_as_lineno_is_dropped(self, console, lineno: int) -> None:
        """makeLogRecord({"lineno": 4111111111111111}) does not emit the number."""
        _configure(console)
        logging.getLogger(__name__).handle(self._forged(lineno))
        (rec,) = console.records()
        assert rec["line"] is None
        if abs(lineno) > 10**6:
            assert str(lineno) not in console.text

    def test_line_of_a_file_that_is_not_code_is_dropped(self, console) -> None:
        """A line number without a source file of code to bound it is dropped."""
        _configure(console)
        logging.getLogger(__name__).handle(self._forged(3, "/nonexistent/upload.py"))
        assert console.records()[0]["line"] is None

    def test_real_line_numbers_are_kept(self, console) -> None:
        """A real record, and a forged one within the file's length, keep their line."""
        _configure(console)
        line = sys._getframe().f_lineno + 1
        logging.getLogger(__name__).warning("real_line_record")
        logging.getLogger(__name__).handle(self._forged(12))
        first, second = console.records()
        assert first["line"] == line
        assert second["line"] == 12

class TestJSONLineRenderer:
    @pytest.mark.parametrize(
        "char",
        [
            "\n",
            "\r",
            "\r\n",
            "\x00",
            "\x1b",
            "\x7f",
            "\x85",
            "\x9b",
            "\u2028",
            "\u2029",
            "\u202a",
            "\u202e",
            "\u2066",
            "\u2069",
            "\u200e",
            "\u200f",
            "\u061c",
        ],
    )
    def test_dangerous_characters_are_escaped(self, char: str) -> None:
        """Line breaks, controls, ANSI escapes, separators and bidi marks are escaped."""
        value = f"a{char}b\x1b[31mred{char}"
        line = render_json_line({"k": value, value: 1})
        assert char not in line
        assert "\x1b" not in line
        assert len(line.splitlines()) == 1
        assert line.isascii() or not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", line)
        parsed = json.loads(line)
        assert parsed["k"] == value
        assert parsed[value] == 1

    def test_no_input_forges_a_second_record(self) -> None:
        """Forged JSON with line breaks stays inside one record's value."""
        forged = '"}\n{"event":"forged","level":"critical"}\r\n{"x":"'
        line = render_json_line({"event": "e", "v": forged, forged: forged})
        assert "\n" not in line
        assert "\r" not in line
        parsed = json.loads(line)
        assert parsed["event"] == "e"
        assert parsed["v"] == forged

    @pytest.mark.parametrize(
        "value", [object(), Clever(), {1, 2}, b"bytes", 2**70, "\ud800", {1: "x"}, (x for x in "a")]
    )
    def test_unrenderable_values_become_the_marker(self, value: object) -> None:
        """Values orjson cannot render become the marker, never their repr()."""
        line = render_json_line({"event": "e", "v": value})
        parsed = json.loads(line)
        assert parsed["event"] == "e"
        assert parsed["v"] == MARKER_UNRENDERABLE or parsed["v"] == {MARKER_UNRENDERABLE: "x"}
        assert CANARY not in line

    def test_renders_plain_records(self) -> None:
        """Scalars, nested dicts and lists render as JSON."""
        record = {"a": 1, "b": 1.5, "c": True, "d": None, "e": {"f": [1, "x"]}}
        assert json.loads(render_json_line(record)) == record
        assert JSONLineRenderer()(None, "info", record) == render_json_line(record)

    def test_passthrough_kind_cannot_forge_a_record(self, console) -> None:
        """Even a custom kind that lets text through yields one record per call."""
        log = _configure(console, note=Passthrough())
        forged = f'x"}}\n{{"event":"forged"}}\u2028\x1b[2J{CANARY}'
        log.info("noted", note=forged)
        assert console.text.count("\n") == 1
        (record,) = console.records()
        assert record["note"] == forged
        assert "\x1b" not in console.text
        assert "\u2028" not in console.text

    def test_literal_event_with_newline_stays_one_line(self, console) -> None:
        """A literal event containing a newline is escaped, not split."""
        log = _configure(console)
        log.info("two\nlines")
        assert console.text.count("\n") == 1
        assert console.records()[0]["event"] == "two\nlines"


class TestAddTimestamp:
    def test_utc_iso_with_milliseconds_and_z(self) -> None:
        """The timestamp is UTC, ISO 8601, millisecond precision, ending in Z."""
        before = dt.datetime.now(dt.timezone.utc)
        out = add_timestamp(None, "info", {})
        after = dt.datetime.now(dt.timezone.utc)
        ts = out["timestamp"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ts)
        parsed = dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
        assert before - dt.timedelta(milliseconds=2) <= parsed <= after


class TestAddLogLevel:
    @pytest.mark.parametrize(
        ("method", "level"),
        [
            ("debug", "debug"),
            ("msg", "info"),
            ("warn", "warning"),
            ("exception", "error"),
            ("fatal", "critical"),
            ("unknown", "info"),
        ],
    )
    def test_structlog_method_names(self, method: str, level: str) -> None:
        """Method names map to the five level names."""
        assert add_log_level(None, method, {})["level"] == level

    def test_stdlib_custom_levels_are_numbered(self) -> None:
        """A custom stdlib level name is never emitted: its number is."""
        record = logging.LogRecord("n", 25, __file__, 1, "m", None, None)
        record.levelname = CANARY
        out = add_log_level(StdlibOrigin(record, None), "info", {})
        assert out["level"] == "level25"
        record.levelname = "WARNING"
        assert add_log_level(StdlibOrigin(record, None), "info", {})["level"] == "warning"


class TestExceptionSanitizer:
    def test_exception_gives_type_only(self) -> None:
        """An exception contributes its type name, never its message."""
        try:
            raise KeyError(CANARY)
        except KeyError:
            out = ExceptionSanitizer()(None, "error", {"exc_info": True})
        assert out["error"]["type"] == "KeyError"
        assert "exc_info" not in out
        assert CANARY not in json.dumps(out)

    def test_exception_instance_and_tuple(self) -> None:
        """exc_info may be an exception or a sys.exc_info() tuple."""
        exc = ValueError(CANARY)
        out = ExceptionSanitizer()(None, "e", {"exc_info": exc})
        assert out["error"]["type"] == "ValueError"
        tup = (ValueError, exc, None)
        out = ExceptionSanitizer()(None, "e", {"exc_info": tup})
        assert out["error"]["type"] == "ValueError"
        assert CANARY not in json.dumps(out)

    def test_non_exception_exc_info_adds_nothing(self) -> None:
        """A string given as exc_info is dropped, not rendered."""
        out = ExceptionSanitizer()(None, "e", {"exc_info": CANARY})
        assert "error" not in out
        assert "exc_info" not in out

    def test_stack_info_is_frames_only(self) -> None:
        """stack_info becomes module/function/line frames."""
        out = ExceptionSanitizer()(None, "info", {"stack_info": True})
        frames = out["stack"]
        assert __name__ in [f.get("module") for f in frames]
        assert "stack_info" not in out


class TestInvisibleCharacters:
    @pytest.mark.parametrize(
        "char",
        [
            "\u00ad",
            "\u200b",
            "\u200c",
            "\u200d",
            "\u2060",
            "\u2064",
            "\ufeff",
            "\ufffb",
            "\U000e0041",
        ],
    )
    def test_invisible_format_characters_are_escaped(self, char: str) -> None:
        """Soft hyphen, zero-width characters, BOM and tag characters are escaped."""
        line = render_json_line({"event": f"a{char}b"})
        assert char not in line
        assert json.loads(line)["event"] == f"a{char}b"


class TestDropCounts:
    def test_each_reason_is_counted(self, console: Any) -> None:
        """Undeclared keys, positional args, rejected values and built events count by reason."""
        safelog.configure(service="svc", console=console.stream, fields={"n": Int(min=0)})
        log = safelog.get_logger("app")
        title = "-".join(["dynamic", "text"])  # noqa: FLY002 -- built at runtime on purpose

        log.info("page_exported", n=3, title="x", owner="y")  # 2 undeclared
        log.info("retrying %s %s", 1, 2)  # 2 positional
        log.info("page_exported", n=-1)  # 1 wrong kind
        log.info(title)  # 1 non-constant event
        # 1 positional, and 1 undeclared: extra= goes through the policy.
        logging.getLogger("vendor").warning("GET %s", "u", extra={"body": 1})
        stats = safelog.stats()
        safelog.shutdown()

        assert {k: v for k, v in stats.items() if k.startswith("dropped_")} == {
            "dropped_undeclared": 3,
            "dropped_wrong_kind": 1,
            "dropped_positional": 3,
            "dropped_non_constant_event": 1,
        }

    def test_counts_are_a_typed_object(self) -> None:
        """A misspelt reason is an error, not a new counter."""
        counts = DropCounts()

        with pytest.raises(AttributeError):
            counts.undeclard = 1  # type: ignore[attr-defined]
        assert counts.as_stats() == {f"dropped_{r}": 0 for r in DropCounts.REASONS}
