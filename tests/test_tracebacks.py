"""Error records: type, frames, fingerprint and a bounded tree; never text."""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import subprocess
import sys
import textwrap
import uuid

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hypothesis import HealthCheck, given, settings

import safelog

from safelog import tracebacks
from safelog.stdlib import SafelogHandler
from safelog.tracebacks import (
    HEAD_FRAMES,
    MARKER_LOC,
    MARKER_NAME,
    MAX_TREE_DEPTH,
    MAX_TREE_NODES,
    TAIL_FRAMES,
    SafeError,
    exception_record,
    fingerprint,
    qualified_type_name,
    stack_record,
)
from strategies import (
    LOADED_TYPES,
    ExceptionGroup,
    HostileStrError,
    RaisingStrError,
    ShadowedDundersError,
    Sinks,
    exceptions,
    json_decode_error,
    loaded_exception,
    new_canary,
    qualname_or_name,
    raise_through,
    types_in,
    unicode_decode_error,
)


HERE = Path(__file__).resolve()
SRC = HERE.parent.parent / "src"
FINGERPRINT = re.compile(r"[0-9a-f]{16}\Z")
FRAME_KEYS = {"module", "function", "line"}
std_log = logging.getLogger(__name__)


def assert_error_shape(error: dict[str, Any], type_name: str | None = None) -> None:
    """The record names the type, lists frames and carries a fingerprint."""
    __tracebackhide__ = True
    assert type(error["type"]) is str
    if type_name is not None:
        assert error["type"] == type_name
    assert FINGERPRINT.match(error["fingerprint"])
    assert error["frames"], "no frames"
    for f in error["frames"]:
        assert set(f) == FRAME_KEYS or set(f) == {"omitted"}


def raise_keyerror(canary: str) -> None:
    secret = {"customer": canary}
    raise KeyError(secret["customer"])


# -- exception factories, each with the canary somewhere ---------------------

FACTORIES: dict[str, Callable[[str], BaseException]] = {
    "loaded": loaded_exception,
    "unicode_object": lambda c: raise_through(unicode_decode_error(c), 1, c),
    "json_doc": lambda c: raise_through(json_decode_error(c), 1, c),
    "hostile_str": lambda c: raise_through(type("E", (HostileStrError,), {"canary": c})(c), 1, c),
    "raising_str": lambda c: raise_through(type("E", (RaisingStrError,), {"canary": c})(c), 1, c),
    "shadowed": lambda c: raise_through(type("E", (ShadowedDundersError,), {"canary": c})(c), 1, c),
}


class TestErrorRecord:
    def test_type_frames_fingerprint(self) -> None:
        """A record has the qualified type, module/function/line frames and a fingerprint."""
        try:
            raise_keyerror(new_canary())
        except KeyError as e:
            rec = exception_record(e)
        assert rec is not None
        assert rec["type"] == "KeyError"
        assert FINGERPRINT.match(rec["fingerprint"])
        assert [f["function"] for f in rec["frames"]] == [
            qualname_or_name("TestErrorRecord.test_type_frames_fingerprint"),
            "raise_keyerror",
        ]
        assert all(set(f) == FRAME_KEYS and f["module"] == __name__ for f in rec["frames"])

    def test_no_paths_no_source_no_locals(self) -> None:
        """Frames name modules, never files; no source text and no locals appear."""
        canary = new_canary()
        try:
            raise_keyerror(canary)
        except KeyError as e:
            text = json.dumps(exception_record(e))
        assert str(HERE.parent) not in text
        assert ".py" not in text
        assert "secret" not in text
        assert canary not in text

    def test_nothing_to_record(self) -> None:
        """No exception (or something that is not one) gives no record."""
        assert exception_record(True) is None  # no exception being handled
        assert exception_record((None, None, None)) is None
        assert exception_record("ValueError") is None
        assert exception_record(ValueError) is None

    def test_type_without_value(self) -> None:
        """A (type, None, None) triple, as unraisablehook can pass, gives the type."""
        assert exception_record((ValueError, None, None)) == {"type": "ValueError", "frames": []}

    def test_oserror_errno_only(self) -> None:
        """An OSError contributes its errno, never its strerror or filename."""
        canary = new_canary()
        rec = exception_record(FileNotFoundError(2, canary, canary))
        assert rec is not None
        assert rec["errno"] == 2
        assert canary not in json.dumps(rec)

    def test_qualified_names(self) -> None:
        """Types are module-qualified, builtins bare, nested classes by qualname."""

        class Inner(Exception):
            pass

        assert qualified_type_name(ValueError) == "ValueError"
        assert qualified_type_name(json.JSONDecodeError) == "json.decoder.JSONDecodeError"
        assert (
            qualified_type_name(Inner)
            == f"{__name__}.TestErrorRecord.test_qualified_names.<locals>.Inner"
        )

    @pytest.mark.parametrize("factory", sorted(FACTORIES))
    def test_canary_nowhere(self, factory: str) -> None:
        """Message, args, notes, attributes, locals, chain, group, .object, .doc: none appear."""
        canary = new_canary()
        rec = exception_record(FACTORIES[factory](canary))
        assert rec is not None
        assert canary not in json.dumps(rec)
        assert FINGERPRINT.match(rec["fingerprint"])
        assert rec["frames"]

    def test_loaded_tree_types(self) -> None:
        """Context, cause and group members all appear, as types and frames."""
        rec = exception_record(loaded_exception(new_canary()))
        assert rec is not None
        assert types_in(rec) == set(LOADED_TYPES)
        members = rec["context"]["cause"]["context"]["exceptions"]
        assert [m["type"] for m in members] == [
            "ValueError",
            "UnicodeDecodeError",
            "json.decoder.JSONDecodeError",
        ]
        assert all(FINGERPRINT.match(m["fingerprint"]) for m in members)


class RaisingGetattribute:
    """Every attribute read through the instance raises, even ``__class__``."""

    canary = ""

    def __getattribute__(self, name: str) -> Any:
        raise RuntimeError(type(self).canary)


class RaisingGetattributeError(Exception):
    """An exception whose every attribute read through the instance raises."""

    canary = ""

    def __getattribute__(self, name: str) -> Any:
        raise RuntimeError(type(self).canary)


class TestHostile:
    def test_shadowed_dunders_not_consulted(self) -> None:
        """Properties shadowing __cause__/__context__/__traceback__/__class__ are ignored."""
        canary = new_canary()
        cls = type("Shadow", (ShadowedDundersError,), {"canary": canary})
        exc = raise_through(cls(canary), 2, canary)
        rec = exception_record(exc)
        assert rec is not None
        assert rec["type"].endswith(".Shadow")  # not the KeyError its __class__ claims
        assert len(rec["frames"]) == 4  # the real traceback
        assert "cause" not in rec
        assert canary not in json.dumps(rec)

    def test_metaclass_cannot_rename(self) -> None:
        """A metaclass property cannot change the type name that is emitted."""
        canary = new_canary()

        class Meta(type):
            def __getattribute__(cls, name: str) -> Any:
                if name in ("__qualname__", "__module__", "__name__"):
                    return canary
                return super().__getattribute__(name)

        class Sneaky(Exception, metaclass=Meta):
            pass

        assert Sneaky.__qualname__ == canary
        rec = exception_record(Sneaky())
        assert rec is not None
        assert rec["type"].endswith("Sneaky")
        assert canary not in json.dumps(rec)

    def test_names_that_are_not_code(self) -> None:
        """A type or module name that is not a dotted identifier becomes the marker."""
        canary = new_canary()
        bad = type(f"user input {canary}", (Exception,), {})
        assert qualified_type_name(bad) == MARKER_NAME
        code = compile("def boom():\n    raise ValueError('x')\n", "<dyn>", "exec")
        ns: dict[str, Any] = {"__name__": f"/home/{canary}/mod"}
        exec(code, ns)
        try:
            ns["boom"]()
        except ValueError as e:
            rec = exception_record(e)
        assert rec is not None
        assert rec["frames"][-1]["module"] == MARKER_NAME
        assert canary not in json.dumps(rec)

    def test_exc_info_object_lying_about_class(self) -> None:
        """An object whose __class__ claims to be an exception is not one."""

        class Liar:
            @property  # type: ignore[misc]
            def __class__(self) -> type:
                return ValueError

        assert exception_record(Liar()) is None

    def test_raising_getattribute_keeps_the_record(self) -> None:
        """An exception whose __getattribute__ raises still gives its type and frames."""
        canary = new_canary()
        cls = type("Opaque", (RaisingGetattributeError,), {"canary": canary})
        exc = raise_through(cls(canary), 1, canary)
        for exc_info in (exc, (cls, exc, None)):
            rec = exception_record(exc_info)
            assert rec is not None
            assert rec["type"].endswith(".Opaque")
            assert len(rec["frames"]) == 3
            assert canary not in json.dumps(rec)

    def test_raising_getattribute_as_logged(
        self, console: Any, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Logged with such an exception, the line keeps its event, call site and fields."""
        canary = new_canary()
        cls = type("Opaque", (RaisingGetattributeError,), {"canary": canary})
        exc = raise_through(cls(canary), 0, canary)
        safelog.configure(service="test", console=console.stream, fields={"n": safelog.Int()})
        try:
            safelog.get_logger(__name__).error("export_failed", exc_info=exc, n=3)
        finally:
            safelog.shutdown()
        sinks = Sinks(console, capsys)
        sinks.assert_clean(canary)
        (rec,) = console.records()
        assert rec["event"] == "export_failed"
        assert rec["n"] == 3
        assert rec["function"].endswith("test_raising_getattribute_as_logged")
        assert rec["error"]["type"].endswith(".Opaque")

    def test_shadowed_group_members_not_consulted(self) -> None:
        """A group subclass's own ``exceptions`` property is ignored; the real members count."""

        class Shadowed(ExceptionGroup):  # type: ignore[type-arg]
            @property
            def exceptions(self) -> Any:
                return (PermissionError(),)

        rec = exception_record(Shadowed("x", [ValueError(), KeyError()]))
        assert rec is not None
        assert [m["type"] for m in rec["exceptions"]] == ["ValueError", "KeyError"]

    def test_raising_getattribute_in_a_triple(self) -> None:
        """A hostile object in a triple's type slot is no exception type, and does not raise."""
        assert exception_record((RaisingGetattributeError(), None, None)) is None
        assert exception_record((RaisingGetattribute(), None, None)) is None


class TestTotal:
    def test_internal_failure_gives_a_minimal_record(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """If building the record fails, even for the type name, the record says so."""

        def broken(*args: object) -> Any:
            msg = "internal"
            raise RuntimeError(msg)

        monkeypatch.setattr(tracebacks, "_node", broken)
        assert exception_record(ValueError()) == {"type": "ValueError", "truncated": True}
        monkeypatch.setattr(tracebacks, "qualified_type_name", broken)
        assert exception_record(ValueError()) == {"type": tracebacks.MARKER_UNAVAILABLE}
        assert exception_record((ValueError, None, None)) == {"type": tracebacks.MARKER_UNAVAILABLE}

    def test_stack_record_of_a_non_frame(self) -> None:
        """stack_record never raises: something that is not a frame gives a marked frame."""
        marker = tracebacks.MARKER_UNAVAILABLE
        assert stack_record(None) == []
        assert stack_record(RaisingGetattribute()) == [  # type: ignore[arg-type]
            {"module": marker, "function": marker, "line": None}
        ]


class TestFingerprint:
    @staticmethod
    def fail(which: int) -> None:
        if which == 1:
            raise ValueError("a")
        raise ValueError("b")  # another line, same function

    def record_of(self, fn: Callable[[], None]) -> dict[str, Any]:
        try:
            fn()
        except Exception as e:
            rec = exception_record(e)
            assert rec is not None
            return rec
        raise AssertionError

    def test_same_error_same_fingerprint_regardless_of_line(self) -> None:
        """Line numbers are not in the fingerprint: edits above a raise keep the group."""
        a = self.record_of(lambda: self.fail(1))
        b = self.record_of(lambda: self.fail(2))
        assert a["frames"][-1]["line"] != b["frames"][-1]["line"]
        assert a["fingerprint"] == b["fingerprint"]

    def test_type_and_function_change_it(self) -> None:
        """Another type or another function is another fingerprint."""
        base = fingerprint("ValueError", [{"module": "m", "function": "f", "line": 1}])
        assert fingerprint("KeyError", [{"module": "m", "function": "f", "line": 1}]) != base
        assert fingerprint("ValueError", [{"module": "m", "function": "g", "line": 1}]) != base
        assert fingerprint("ValueError", [{"module": "m", "function": "f", "line": 9}]) == base

    def test_recursion_depth_does_not_split(self) -> None:
        """How deep a recursion went does not change the fingerprint."""

        def rec(n: int) -> None:
            if n == 0:
                raise ValueError
            rec(n - 1)

        assert (
            self.record_of(lambda: rec(3))["fingerprint"]
            == self.record_of(lambda: rec(60))["fingerprint"]
        )

    def test_stable_across_processes(self) -> None:
        """The fingerprint is a content hash, the same in another process and hash seed."""
        script = textwrap.dedent(
            """
            from safelog.tracebacks import fingerprint
            print(fingerprint("pkg.Error", [{"module": "pkg.mod", "function": "C.f", "line": 3}]))
            """
        )
        env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(SRC)}
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
        ).stdout.strip()
        assert out == fingerprint(
            "pkg.Error", [{"module": "pkg.mod", "function": "C.f", "line": 3}]
        )


class TestBounds:
    def test_recursion_error_is_bounded(self) -> None:
        """A RecursionError's ~1,000 frames become head + tail + an omitted count."""

        def down() -> None:
            down()

        try:
            down()
        except RecursionError as e:
            rec = exception_record(e)
        assert rec is not None
        frames = rec["frames"]
        assert len(frames) == HEAD_FRAMES + TAIL_FRAMES + 1
        omitted = frames[HEAD_FRAMES]["omitted"]
        assert omitted > 900
        assert frames[0]["function"] == qualname_or_name(
            "TestBounds.test_recursion_error_is_bounded"
        )
        assert frames[-1]["function"].endswith("down")
        assert len(json.dumps(rec)) < 4000

    def test_cycle_is_cut(self) -> None:
        """A cause/context cycle is rendered once, then marked as repeated."""
        a, b = ValueError("x"), TypeError("y")
        a.__context__, b.__context__ = b, a
        rec = exception_record(a)
        assert rec == {
            "type": "ValueError",
            "frames": [],
            "fingerprint": rec["fingerprint"] if rec else None,
            "context": {
                "type": "TypeError",
                "frames": [],
                "fingerprint": fingerprint("TypeError", []),
                "context": {"type": "ValueError", "repeated": True},
            },
        }

    def test_self_cause(self) -> None:
        """An exception that is its own cause ends at once."""
        e = ValueError()
        e.__cause__ = e
        rec = exception_record(e)
        assert rec is not None
        assert rec["cause"] == {"type": "ValueError", "repeated": True}

    def test_long_chain_is_truncated(self) -> None:
        """A chain deeper than the limit stops with a truncated mark."""
        root = ValueError()
        e = root
        for _ in range(200):
            nxt = KeyError()
            e.__cause__ = nxt
            e = nxt
        rec = exception_record(root)
        depth = 0
        node = rec
        while node is not None and "cause" in node:
            node = node["cause"]
            depth += 1
        assert depth == MAX_TREE_DEPTH
        assert node is not None
        assert node["truncated"] is True

    def test_wide_group_is_bounded(self) -> None:
        """A group with many members keeps a bounded number and counts the rest."""
        group = ExceptionGroup("x", [ValueError(str(i)) for i in range(500)])
        rec = exception_record(group)
        assert rec is not None
        kept = len(rec["exceptions"])
        assert kept <= MAX_TREE_NODES
        assert rec["exceptions_omitted"] == 500 - kept

    def test_nested_groups_share_one_budget(self) -> None:
        """Nested groups never describe more than the node budget in total."""
        inner = [ExceptionGroup("x", [ValueError() for _ in range(10)]) for _ in range(10)]
        rec = exception_record(ExceptionGroup("x", inner))

        def count(n: dict[str, Any]) -> int:
            return 1 + sum(count(m) for m in n.get("exceptions", ()))

        assert rec is not None
        assert count(rec) <= MAX_TREE_NODES + 16

    def test_deep_stack_info_is_bounded(self) -> None:
        """stack_info deep inside a recursion is capped like a traceback."""
        import sys as _sys

        def down(n: int) -> list[dict[str, Any]]:
            if n == 0:
                return stack_record(_sys._getframe())
            return down(n - 1)

        stack = down(300)
        assert len(stack) == HEAD_FRAMES + TAIL_FRAMES + 1
        assert stack[HEAD_FRAMES]["omitted"] > 250
        assert stack[-1]["function"].endswith("down")


# -- SafeError -------------------------------------------------------------------


class ExportFailed(SafeError):
    # The declaration is frozen at class creation.
    fields = {  # noqa: RUF012
        "stage": safelog.Enum("render", "upload"),
        "attempt": safelog.Int(min=0),
    }


class UploadFailed(ExportFailed):
    fields = {"status": safelog.HttpStatus()}  # noqa: RUF012


class TestSafeError:
    def test_fields_in_record(self) -> None:
        """Declared fields appear in the error record, cleaned by their kinds."""
        e = ExportFailed(stage="render", attempt=2)
        assert e.attempt == 2  # type: ignore[attr-defined]
        rec = exception_record(raise_through(e, 0, "x"))
        assert rec is not None
        assert rec["fields"] == {"stage": "render", "attempt": 2}
        assert rec["type"] == f"{__name__}.ExportFailed"

    def test_bad_values_become_markers(self) -> None:
        """A value that fails its kind is a marker, in the record and in str()."""
        canary = new_canary()
        e = ExportFailed(stage=canary, attempt=-1)
        rec = exception_record(e)
        assert rec is not None
        assert rec["fields"] == {"stage": "<rejected:enum>", "attempt": "<rejected:int>"}
        assert canary not in str(e)
        assert canary not in repr(e)
        assert str(e) == "stage='<rejected:enum>', attempt='<rejected:int>'"

    def test_later_mutation_is_still_checked(self) -> None:
        """A field changed after construction is cleaned when logged."""
        canary = new_canary()
        e = ExportFailed(stage="upload")
        e.stage = canary  # type: ignore[attr-defined]
        rec = exception_record(e)
        assert rec is not None
        assert rec["fields"] == {"stage": "<rejected:enum>"}

    def test_inherited_fields(self) -> None:
        """A subclass keeps its base's fields and adds its own."""
        assert set(UploadFailed.fields) == {"stage", "attempt", "status"}
        rec = exception_record(UploadFailed(stage="upload", status=503))
        assert rec is not None
        assert rec["fields"] == {"stage": "upload", "status": 503}

    def test_undeclared_field_is_refused_without_its_name(self) -> None:
        """An undeclared keyword is a TypeError that does not echo the keyword."""
        canary = new_canary()
        with pytest.raises(TypeError) as info:
            ExportFailed(**{canary: 1})
        assert canary not in str(info.value)

    def test_no_positional_message(self) -> None:
        """There is no free-text message to put data in."""
        with pytest.raises(TypeError):
            ExportFailed("text")  # type: ignore[call-arg]

    @pytest.mark.parametrize(
        "fields",
        [
            ["stage"],
            {"stage": "enum"},
            {"bad name": safelog.Int()},
            {"_private": safelog.Int()},
            {"args": safelog.Int()},
            {"with_traceback": safelog.Int()},
            {"key": safelog.Hashed()},
        ],
    )
    def test_declaration_checked_at_class_creation(self, fields: Any) -> None:
        """A wrong declaration fails when the class is created, naming the option."""
        with pytest.raises(safelog.ConfigurationError, match=r"\.fields"):
            type("Bad", (SafeError,), {"fields": fields})

    def test_declaration_frozen(self) -> None:
        """Changing the dict the class was declared with changes nothing."""
        declared: dict[str, Any] = {"n": safelog.Int()}
        cls = type("Frozen", (SafeError,), {"fields": declared})
        declared["m"] = safelog.Int()
        assert set(cls.fields) == {"n"}

    def test_pickles(self) -> None:
        """A SafeError survives pickling (multiprocessing, task queues)."""
        e = pickle.loads(pickle.dumps(ExportFailed(stage="render", attempt=1)))
        assert e.safe_fields() == {"stage": "render", "attempt": 1}

    def test_logged(self, sinks: Sinks) -> None:
        """Through the chain, the fields reach the sink and nothing else does."""
        canary = new_canary()
        log = safelog.get_logger(__name__)
        try:
            try:
                raise_keyerror(canary)
            except KeyError as cause:
                raise ExportFailed(stage="upload", attempt=3) from cause
        except ExportFailed:
            log.exception("export_failed")
        sinks.assert_clean(canary)
        (rec,) = sinks.error_records()
        assert rec["error"]["fields"] == {"stage": "upload", "attempt": 3}
        assert rec["error"]["cause"]["type"] == "KeyError"


# -- pydantic --------------------------------------------------------------------


class TestPydantic:
    @staticmethod
    def models() -> tuple[type, type]:
        import pydantic

        class Address(pydantic.BaseModel):
            postcode: int

        class Customer(pydantic.BaseModel):
            email_count: int
            address: Address
            tags: dict[str, int]
            scores: list[int]

        return Customer, Address

    def validation_error(self, canary: str) -> BaseException:
        customer, _ = self.models()
        try:
            customer(
                email_count=canary,
                address={"postcode": canary},
                tags={canary: canary},
                scores=[1, canary],
            )
        except Exception as e:
            return e
        raise AssertionError

    def test_types_and_field_locs(self) -> None:
        """Model title, error types and loc paths of field names and indices appear."""
        rec = exception_record(self.validation_error(new_canary()))
        assert rec is not None
        v = rec["validation"]
        assert v["title"] == "Customer"
        assert v["errors"] == [
            {"type": "int_parsing", "loc": ["email_count"]},
            {"type": "int_parsing", "loc": ["address", "postcode"]},
            {"type": "int_parsing", "loc": ["tags", MARKER_LOC]},
            {"type": "int_parsing", "loc": ["scores", 1]},
        ]

    def test_no_input_msg_or_ctx(self) -> None:
        """Inputs, messages, context and dict keys from input never appear."""
        import pydantic

        class Short(pydantic.BaseModel):
            name: str = pydantic.Field(max_length=3)

        canary = new_canary()
        for exc in (self.validation_error(canary), self._catch(lambda: Short(name=canary))):
            text = json.dumps(exception_record(exc))
            assert canary not in text
            assert '"input' not in text
            assert "max_length" not in text
            assert "should be" not in text  # pydantic's msg

    @staticmethod
    def _catch(fn: Callable[[], object]) -> BaseException:
        try:
            fn()
        except Exception as e:
            return e
        raise AssertionError

    def test_validator_message_dropped(self) -> None:
        """A ValueError raised in a validator is its type only."""
        import pydantic

        canary = new_canary()

        class M(pydantic.BaseModel):
            x: int

            @pydantic.field_validator("x")
            @classmethod
            def check(cls, v: int) -> int:
                raise ValueError(canary)

        rec = exception_record(self._catch(lambda: M(x=1)))
        assert rec is not None
        assert rec["validation"]["errors"] == [{"type": "value_error", "loc": ["x"]}]
        assert canary not in json.dumps(rec)

    def test_many_errors_bounded(self) -> None:
        """Hundreds of errors keep a bounded list and an omitted count."""
        import pydantic

        adapter = pydantic.TypeAdapter(list[int])
        rec = exception_record(self._catch(lambda: adapter.validate_python(["x"] * 300)))
        assert rec is not None
        assert len(rec["validation"]["errors"]) == 32
        assert rec["validation"]["errors_omitted"] == 300 - 32

    def test_logged_through_chain(self, sinks: Sinks) -> None:
        """Logged with log.exception, the record has the metadata and no input."""
        canary = new_canary()
        log = safelog.get_logger(__name__)
        exc = self.validation_error(canary)
        log.error("bad_request", exc_info=exc)
        sinks.assert_clean(canary)
        (rec,) = sinks.error_records()
        assert rec["error"]["validation"]["title"] == "Customer"
        assert_error_shape(rec["error"])

    # Issue 16.1: models built at runtime from data, with a constant title.

    def test_runtime_model_aliases_from_data_are_not_field_names(self) -> None:
        """create_model("SheetRow", col0=(float, Field(alias=header))): headers never appear."""
        import pydantic

        headers = [new_canary() for _ in range(3)]
        fields: dict[str, Any] = {
            f"col{i}": (float, pydantic.Field(alias=h)) for i, h in enumerate(headers)
        }
        sheet_row = pydantic.create_model("SheetRow", **fields)
        exc = self._catch(lambda: sheet_row.model_validate(dict.fromkeys(headers, "x")))
        rec = exception_record(exc)
        assert rec is not None
        text = json.dumps(rec)
        for h in headers:
            assert h not in text
        assert rec["validation"]["title"] == "SheetRow"
        assert [e["loc"] for e in rec["validation"]["errors"]] == [[MARKER_LOC]] * 3

    def test_runtime_model_field_names_from_data_are_not_field_names(self) -> None:
        """create_model("SheetRow", **{header: ...}): the header is no field name."""
        import pydantic

        header = "h" + uuid.uuid4().hex
        fields: dict[str, Any] = {header: (int, ...)}
        sheet_row = pydantic.create_model("SheetRow", **fields)
        rec = exception_record(self._catch(lambda: sheet_row(**{header: "x"})))
        assert rec is not None
        assert header not in json.dumps(rec)
        assert rec["validation"]["errors"][0]["loc"] == [MARKER_LOC]

    def test_fields_written_in_code_keep_their_names(self) -> None:
        """Retention: literal aliases, generated aliases and literal create_model fields show."""
        import pydantic

        from pydantic.alias_generators import to_camel

        class Invite(pydantic.BaseModel):
            email: str = pydantic.Field(alias="e-mail")

        class Export(pydantic.BaseModel):
            model_config = pydantic.ConfigDict(alias_generator=to_camel)
            page_count: int

        row = pydantic.create_model("Row", page_total=(int, ...))
        locs = [
            exception_record(self._catch(fn))["validation"]["errors"][0]["loc"]  # type: ignore[index]
            for fn in (
                lambda: Invite.model_validate({"e-mail": 1}),
                lambda: Export.model_validate({"pageCount": "x"}),
                lambda: row(page_total="x"),
            )
        ]
        assert locs == [["e-mail"], ["pageCount"], ["page_total"]]

    def test_pydantic_not_imported(self) -> None:
        """Without pydantic imported, records work and pydantic stays unimported."""
        script = textwrap.dedent(
            """
            import sys
            from safelog.tracebacks import exception_record
            try:
                raise ValueError("x")
            except ValueError as e:
                assert exception_record(e)["type"] == "ValueError"
            assert "pydantic" not in sys.modules and "pydantic_core" not in sys.modules
            """
        )
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        subprocess.run([sys.executable, "-c", script], check=True, env=env)


# -- every way an error reaches a log call ----------------------------------------


def _structlog_exception(exc: BaseException) -> None:
    log = safelog.get_logger(__name__)
    try:
        raise exc  # noqa: TRY301
    except BaseException:
        log.exception("operation_failed")


def _structlog_exc_info_true(exc: BaseException) -> None:
    log = safelog.get_logger(__name__)
    try:
        raise exc  # noqa: TRY301
    except BaseException:
        log.error("operation_failed", exc_info=True)  # noqa: G201 -- the vector under test


def _structlog_exc_info_exception(exc: BaseException) -> None:
    safelog.get_logger(__name__).error("operation_failed", exc_info=exc)


def _structlog_exc_info_tuple(exc: BaseException) -> None:
    safelog.get_logger(__name__).error(
        "operation_failed", exc_info=(type(exc), exc, exc.__traceback__)
    )


def _stdlib_exception(exc: BaseException) -> None:
    try:
        raise exc  # noqa: TRY301
    except BaseException:
        std_log.exception("operation_failed")


def _stdlib_exc_info_true(exc: BaseException) -> None:
    try:
        raise exc  # noqa: TRY301
    except BaseException:
        std_log.error("operation_failed", exc_info=True)


def _stdlib_exc_info_exception(exc: BaseException) -> None:
    std_log.error("operation_failed", exc_info=exc)


def _stdlib_exc_info_tuple(exc: BaseException) -> None:
    std_log.error("operation_failed", exc_info=(type(exc), exc, exc.__traceback__))


def _stdlib_args_and_extra(exc: BaseException) -> None:
    # The canary is also in %-args and extra=: counted, never shown.
    canary = exc.args[0] if exc.args and type(exc.args[0]) is str else "x"
    std_log.error("operation_failed %s", canary, exc_info=exc, extra={"who": canary})


VECTORS: dict[str, Callable[[BaseException], None]] = {
    "structlog.exception": _structlog_exception,
    "structlog.exc_info=True": _structlog_exc_info_true,
    "structlog.exc_info=exc": _structlog_exc_info_exception,
    "structlog.exc_info=tuple": _structlog_exc_info_tuple,
    "stdlib.exception": _stdlib_exception,
    "stdlib.exc_info=True": _stdlib_exc_info_true,
    "stdlib.exc_info=exc": _stdlib_exc_info_exception,
    "stdlib.exc_info=tuple": _stdlib_exc_info_tuple,
    "stdlib.args_and_extra": _stdlib_args_and_extra,
}


class TestLogCalls:
    @pytest.mark.parametrize("vector", sorted(VECTORS))
    def test_loaded_exception(self, vector: str, sinks: Sinks) -> None:
        """Every log-call vector: no canary anywhere; type, frames, fingerprint and tree present."""
        canary = new_canary()
        exc = loaded_exception(canary)
        VECTORS[vector](exc)
        sinks.assert_clean(canary)
        (rec,) = sinks.error_records()
        # The stdlib template with %s is a literal too; its args are dropped.
        assert rec["event"] in ("operation_failed", "operation_failed %s")
        assert_error_shape(rec["error"], "KeyError")
        assert types_in(rec["error"]) == set(LOADED_TYPES)

    @pytest.mark.parametrize(
        "factory", ["unicode_object", "json_doc", "hostile_str", "raising_str"]
    )
    @pytest.mark.parametrize("vector", ["structlog.exc_info=exc", "stdlib.exception"])
    def test_attribute_carriers(self, vector: str, factory: str, sinks: Sinks) -> None:
        """.object, .doc and hostile str/repr/getattr never reach a sink."""
        canary = new_canary()
        VECTORS[vector](FACTORIES[factory](canary))
        sinks.assert_clean(canary)
        (rec,) = sinks.error_records()
        assert_error_shape(rec["error"])

    def test_event_and_level(self, sinks: Sinks) -> None:
        """log.exception is an error-level record with the constant event."""
        _structlog_exception(loaded_exception(new_canary()))
        _stdlib_exception(loaded_exception(new_canary()))
        a, b = sinks.error_records()
        for rec in (a, b):
            assert rec["event"] == "operation_failed"
            assert rec["level"] == "error"
        assert a["error"]["frames"][-1] == b["error"]["frames"][-1]

    def test_exception_as_event(self, sinks: Sinks) -> None:
        """An exception passed as the event is a marker, never its text."""
        canary = new_canary()
        safelog.get_logger(__name__).error(KeyError(canary))  # type: ignore[arg-type]
        std_log.error(KeyError(canary))
        sinks.assert_clean(canary)
        assert [r["event"] for r in sinks.records()] == ["<non-constant-event>"] * 2


class TestStackInfo:
    def test_structlog_stack_info(self, sinks: Sinks) -> None:
        """stack_info=True gives frames of the call site's stack, never locals."""
        canary = new_canary()

        def inner() -> None:
            local_secret = canary
            safelog.get_logger(__name__).info("checkpoint", stack_info=True)
            del local_secret

        inner()
        sinks.assert_clean(canary)
        (rec,) = sinks.records()
        assert rec["stack"][-1]["function"].endswith("inner")
        assert all(set(f) == FRAME_KEYS or set(f) == {"omitted"} for f in rec["stack"])

    def test_stdlib_stack_info(self, sinks: Sinks) -> None:
        """stdlib stack_info=True: frames of the call site, never logging's text."""
        canary = new_canary()

        def inner() -> None:
            local_secret = canary
            std_log.warning("checkpoint", stack_info=True)
            del local_secret

        inner()
        sinks.assert_clean(canary)
        (rec,) = sinks.records()
        assert rec["stack"][-1]["function"].endswith("inner")
        assert "Stack (most recent call last)" not in sinks.console.text


PROPERTY_CANARY = new_canary()


class TestProperty:
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=exceptions(PROPERTY_CANARY))
    def test_no_canary_survives(self, data: BaseException, sinks: Sinks) -> None:
        """Any exception tree, however hostile: the canary never reaches a sink."""
        before = len(sinks.heard)
        safelog.get_logger(__name__).error("operation_failed", exc_info=data)
        # pytest's own log capture handler joins the root logger for each
        # test phase and formats records itself (a hostile __traceback__
        # makes it raise): for this call only safelog's handler stays.
        root = logging.getLogger()
        saved = root.handlers[:]
        root.handlers = [h for h in saved if isinstance(h, SafelogHandler)]
        try:
            std_log.error("operation_failed", exc_info=(type(data), data, None))
        finally:
            root.handlers = saved
        sinks.assert_clean(PROPERTY_CANARY)
        new = [json.loads(x) for x in sinks.heard[before:]]
        assert len(new) == 2
        for rec in new:
            assert type(rec["error"]["type"]) is str
            assert FINGERPRINT.match(rec["error"]["fingerprint"])
            assert type(rec["error"]["frames"]) is list


class TestExample:
    def test_errors_demo(self) -> None:
        """docs/errors.md's example runs and its records hold metadata only."""
        root = HERE.parent.parent
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOG_")}
        proc = subprocess.run(
            [sys.executable, str(root / "examples" / "errors_demo.py")],
            capture_output=True,
            text=True,
            cwd=root,
            env=env,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        for planted in ("Board minutes", "layoffs"):
            assert planted not in proc.stdout + proc.stderr
        decoder = json.JSONDecoder()
        text = proc.stdout
        records, i = [], text.find("{")
        while i != -1:
            rec, end = decoder.raw_decode(text, i)
            records.append(rec)
            i = text.find("{", end)
        export, invalid, warned, callback = records
        assert export["error"]["fields"] == {"stage": "render", "attempt": 2}
        assert export["error"]["cause"]["type"] == "KeyError"
        assert invalid["error"]["validation"] == {
            "title": "Page",
            "errors": [{"type": "int_parsing", "loc": ["word_count"]}],
        }
        assert warned["event"] == "<non-constant-event>"
        assert warned["error"]["type"] == "UserWarning"
        assert callback["event"] == "exception_in_callback"
        assert callback["error"]["type"] == "ValueError"


class TestRuntimeTypeNames:
    """Exception classes made at runtime may carry data in their names."""

    def test_class_named_from_data_shows_its_nearest_code_base(self) -> None:
        """type("T" + data, (ValueError,), {}) is recorded as ValueError, never by its name."""
        secret = "T" + uuid.uuid4().hex
        made = type(secret, (ValueError,), {})
        rec = tracebacks.exception_record(made("x"))
        assert rec is not None
        assert rec["type"] == "ValueError"
        assert secret not in json.dumps(rec)

    def test_class_defined_in_a_function_keeps_its_name(self) -> None:
        """A class statement inside a function is code: its qualified name is kept."""

        class LocalError(Exception):
            pass

        rec = tracebacks.exception_record(LocalError())
        assert rec is not None
        assert rec["type"].endswith(
            "test_class_defined_in_a_function_keeps_its_name.<locals>.LocalError"
        )

    def test_module_level_class_keeps_its_name(self) -> None:
        """A class of a module's namespace keeps module and qualified name."""
        rec = tracebacks.exception_record(json.JSONDecodeError("m", "doc", 0))
        assert rec is not None
        assert rec["type"] == "json.decoder.JSONDecodeError"

    def test_frames_of_execd_code_show_no_data_built_names(self) -> None:
        """A function made by exec from data raises: its frame names neither it nor its module."""
        secret = "f" + uuid.uuid4().hex
        ns: dict[str, Any] = {"__name__": "m" + secret}
        exec(f"def {secret}():\n    raise ValueError('x')\n", ns)
        try:
            ns[secret]()
        except ValueError as exc:
            rec = tracebacks.exception_record(exc)
        assert rec is not None
        assert secret not in json.dumps(rec)
        assert rec["frames"][-1]["function"] == tracebacks.MARKER_NAME


class TestRuntimeModels:
    def test_model_made_from_data_shows_neither_title_nor_fields(self) -> None:
        """create_model(title_from_data, **{field_from_data: ...}) contributes no names."""
        import pydantic

        title = "Form" + uuid.uuid4().hex
        field = "f" + uuid.uuid4().hex
        model = pydantic.create_model(title, **{field: (int, ...)})  # type: ignore[call-overload]
        try:
            model.model_validate({field: "not a number"})
        except pydantic.ValidationError as exc:
            rec = tracebacks.exception_record(exc)
        assert rec is not None
        text = json.dumps(rec)
        assert title not in text
        assert field not in text
        assert rec["validation"]["errors"][0]["type"] == "int_parsing"

    def test_model_of_code_keeps_title_and_fields(self) -> None:
        """A class-statement model is code: its title and field names stay."""
        import pydantic

        class Invoice(pydantic.BaseModel):
            amount_cents: int

        try:
            Invoice.model_validate({"amount_cents": "lots"})
        except pydantic.ValidationError as exc:
            rec = tracebacks.exception_record(exc)
        assert rec is not None
        assert rec["validation"]["title"] == "Invoice"
        assert rec["validation"]["errors"][0]["loc"] == ["amount_cents"]
