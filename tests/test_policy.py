# ruff: noqa: FLY002 -- the join builds a string at runtime on purpose
"""Field kinds and the frozen field policy."""

from __future__ import annotations

import datetime as dt
import enum
import math
import uuid

from typing import Any

import pytest

import safelog

from safelog.policy import (
    KINDS,
    RESERVED_KEYS,
    Bool,
    ConfigurationError,
    Duration,
    Enum,
    FieldPolicy,
    Float,
    Hashed,
    HashKey,
    HttpMethod,
    HttpStatus,
    Id,
    Int,
    Kind,
    Route,
    Uuid,
    make_hash_key,
)


CANARY = "canary" + uuid.uuid4().hex
SECRET = b"s3cret-" + uuid.uuid4().hex.encode()


class HostileInt(int):
    """An int that lies through every dunder it can."""

    def __int__(self) -> int:
        return 999

    def __index__(self) -> int:
        return 999

    def __str__(self) -> str:
        return CANARY

    def __repr__(self) -> str:
        return CANARY

    def __format__(self, spec: str) -> str:
        return CANARY


class HostileFloat(float):
    def __float__(self) -> float:
        return 999.0

    def __repr__(self) -> str:
        return CANARY


class HostileStr(str):
    """A str whose dunders all try to say something else."""

    __slots__ = ()

    def __str__(self) -> str:
        return CANARY

    def __repr__(self) -> str:
        return CANARY

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 0

    def upper(self) -> str:  # type: ignore[override]
        return "GET"


class Clever:
    """An unknown object: its text must never be consulted."""

    def __str__(self) -> str:
        return CANARY

    def __repr__(self) -> str:
        return CANARY

    def __int__(self) -> int:
        return 1

    def __float__(self) -> float:
        return 1.0

    def __index__(self) -> int:
        return 1

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return hash("ok")


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def _key(secret: bytes = SECRET, key_id: str | None = None) -> HashKey:
    return make_hash_key(secret, key_id)


def _all_kinds() -> list[Kind]:
    """One instance of every built-in kind, with the arguments it needs."""
    return [
        Int(),
        Float(),
        Duration(),
        Bool(),
        Enum("ok", "failed"),
        Id(),
        Uuid(),
        Hashed(),
        HttpStatus(),
        HttpMethod(),
        Route("/pages/{page_id}"),
    ]


# Values that are never of any kind: containers, bytes, unknown objects.
NEVER_VALID: list[Any] = [
    [1],
    (1,),
    {"a": 1},
    {1},
    frozenset({1}),
    b"ok",
    bytearray(b"ok"),
    memoryview(b"ok"),
    None,
    object(),
    Clever(),
    1j,
    [CANARY],
    {CANARY: CANARY},
]


class TestEveryKind:
    @pytest.mark.parametrize("kind", _all_kinds(), ids=lambda k: k.kind_name)
    @pytest.mark.parametrize("value", NEVER_VALID, ids=lambda v: type(v).__name__)
    def test_containers_bytes_and_objects_become_the_marker(self, kind: Kind, value: Any) -> None:
        """Containers, bytes and unknown objects become the kind's marker, never text."""
        clean = kind.compile(_key())
        out = clean(value)
        assert out == f"<rejected:{kind.kind_name}>"
        assert CANARY not in str(out)

    @pytest.mark.parametrize("kind", _all_kinds(), ids=lambda k: k.kind_name)
    def test_marker_names_the_kind(self, kind: Kind) -> None:
        """The marker is a fixed text that names the kind."""
        assert kind.marker == f"<rejected:{kind.kind_name}>"
        assert kind.kind_name in KINDS

    @pytest.mark.parametrize("kind", _all_kinds(), ids=lambda k: k.kind_name)
    def test_no_kind_carries_free_text(self, kind: Kind) -> None:
        """A sentence of customer text never comes out of any kind as itself."""
        text = f"Dear {CANARY}, your export of 'Q3 plans' is ready."
        out = kind.compile(_key())(text)
        assert type(out) is str
        assert CANARY not in out
        assert "Dear" not in out

    @pytest.mark.parametrize("kind", _all_kinds(), ids=lambda k: k.kind_name)
    def test_hostile_str_subclass_never_consults_dunders(self, kind: Kind) -> None:
        """A str subclass with lying __str__/__repr__/__eq__/__hash__ cannot leak or match."""
        out = kind.compile(_key())(HostileStr(f"x {CANARY}"))
        assert CANARY not in str(out)
        assert out == kind.marker or (kind.kind_name == "hashed" and ":" in str(out))


SAMPLES: list[Any] = [
    0,
    1,
    -1,
    42,
    2**63,
    -(2**63) - 1,
    True,
    False,
    0.0,
    12.5,
    -3.5,
    math.nan,
    math.inf,
    -math.inf,
    "",
    "ok",
    "failed",
    "OK",
    "req-1.a:b_c",
    "a" * 64,
    "a" * 65,
    "a\n",
    "ok\n",
    "caf\u00e9",
    "get",
    "/pages/{page_id}",
    "/pages/1",
    str(uuid.UUID(int=7)),
    uuid.UUID(int=7),
    dt.timedelta(seconds=2),
    HostileStr("ok"),
    HostileStr("abc"),
    HostileInt(5),
    HostileFloat(1.5),
    Color.RED,
    None,
    [1],
    b"ok",
    Clever(),
]


class TestCompiledCleaners:
    # Hashed.clean() has no key by design; TestHashed covers its compiled form.
    @pytest.mark.parametrize(
        "kind", [k for k in _all_kinds() if not isinstance(k, Hashed)], ids=lambda k: k.kind_name
    )
    def test_compiled_cleaner_agrees_with_clean(self, kind: Kind) -> None:
        """The chain's compiled (fast-path) cleaner decides exactly like the kind's clean()."""
        compiled = kind.compile(None)
        for value in SAMPLES:
            fast, slow = compiled(value), kind.clean(value)
            assert (type(fast), fast) == (type(slow), slow), (kind, type(value).__name__)


class TestInt:
    def test_accepts_exact_ints_in_range(self) -> None:
        """Ints within the bounds pass unchanged."""
        kind = Int(min=0, max=10)
        assert kind.clean(0) == 0
        assert kind.clean(10) == 10
        assert kind.clean(11) == "<rejected:int>"
        assert kind.clean(-1) == "<rejected:int>"

    def test_bool_is_not_an_int(self) -> None:
        """True and False are rejected although bool subclasses int."""
        assert Int().clean(True) == "<rejected:int>"
        assert Int().clean(False) == "<rejected:int>"
        assert Int().clean(1) == 1

    def test_int_subclass_is_read_through_ints_own_slot(self) -> None:
        """An int subclass with a lying __int__/__index__ is emitted as its real number."""
        out = Int().clean(HostileInt(5))
        assert out == 5
        assert type(out) is int

    def test_huge_ints_are_rejected(self) -> None:
        """Ints outside the signed 64-bit range are rejected, however large."""
        assert Int().clean(2**63 - 1) == 2**63 - 1
        assert Int().clean(-(2**63)) == -(2**63)
        assert Int().clean(2**63) == "<rejected:int>"
        assert Int().clean(10**4000) == "<rejected:int>"

    def test_numbers_of_other_types_and_digit_strings_are_rejected(self) -> None:
        """Floats and digit strings are not ints."""
        assert Int().clean(3.0) == "<rejected:int>"
        assert Int().clean("3") == "<rejected:int>"

    def test_bad_bounds_fail_fast(self) -> None:
        """Non-int or inverted bounds are a ConfigurationError naming Int."""
        with pytest.raises(ConfigurationError, match="Int"):
            Int(min="0")  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="Int"):
            Int(min=5, max=1)
        with pytest.raises(ConfigurationError, match="Int"):
            Int(max=True)  # type: ignore[arg-type]


class TestHttpStatus:
    def test_accepts_100_to_599(self) -> None:
        """Only codes from 100 to 599 pass."""
        assert HttpStatus().clean(200) == 200
        assert HttpStatus().clean(599) == 599
        assert HttpStatus().clean(99) == "<rejected:http_status>"
        assert HttpStatus().clean(600) == "<rejected:http_status>"


class TestFloat:
    def test_accepts_floats_and_ints_as_floats(self) -> None:
        """Finite floats pass; ints are emitted as floats."""
        assert Float().clean(12.5) == 12.5
        out = Float().clean(3)
        assert out == 3.0
        assert type(out) is float

    @pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, float("nan")])
    def test_nan_and_infinities_are_rejected(self, value: float) -> None:
        """NaN and infinities are rejected."""
        assert Float().clean(value) == "<rejected:float>"

    def test_bool_and_huge_ints_are_rejected(self) -> None:
        """Bools and ints beyond 64 bits are not numbers here."""
        assert Float().clean(True) == "<rejected:float>"
        assert Float().clean(10**400) == "<rejected:float>"

    def test_float_subclass_is_read_through_floats_own_slot(self) -> None:
        """A float subclass with a lying __float__ is emitted as its real value."""
        out = Float().clean(HostileFloat(1.5))
        assert out == 1.5
        assert type(out) is float

    def test_bounds_apply(self) -> None:
        """Values outside [min, max] are rejected."""
        kind = Float(min=0, max=1)
        assert kind.clean(0.5) == 0.5
        assert kind.clean(1.5) == "<rejected:float>"

    def test_bad_bounds_fail_fast(self) -> None:
        """Non-finite or inverted bounds are a ConfigurationError naming Float."""
        with pytest.raises(ConfigurationError, match="Float"):
            Float(min=math.nan)
        with pytest.raises(ConfigurationError, match="Float"):
            Float(min=2, max=1)


class TestDuration:
    def test_timedelta_and_numbers_in_the_unit(self) -> None:
        """A timedelta is converted to the unit; plain numbers pass as given."""
        assert Duration().clean(dt.timedelta(seconds=1.5)) == 1500.0
        assert Duration(unit="s").clean(dt.timedelta(milliseconds=250)) == 0.25
        assert Duration().clean(12) == 12.0

    def test_negative_durations_are_rejected(self) -> None:
        """Negative durations are rejected."""
        assert Duration().clean(-1) == "<rejected:duration>"
        assert Duration().clean(dt.timedelta(seconds=-1)) == "<rejected:duration>"

    def test_unknown_unit_fails_fast(self) -> None:
        """Only 'ms' and 's' are units."""
        with pytest.raises(ConfigurationError, match="Duration: unit"):
            Duration(unit="h")


class TestBool:
    def test_only_true_and_false(self) -> None:
        """Truthy values are not booleans."""
        assert Bool().clean(True) is True
        assert Bool().clean(False) is False
        for value in (1, 0, "true", "", None, [True]):
            assert Bool().clean(value) == "<rejected:bool>"


class TestEnum:
    def test_declared_values_pass_and_others_do_not(self) -> None:
        """Only declared members pass."""
        kind = Enum("ok", "failed")
        assert kind.clean("ok") == "ok"
        assert kind.clean("failed") == "failed"
        assert kind.clean("OK") == "<rejected:enum>"
        assert kind.clean(CANARY) == "<rejected:enum>"

    def test_the_declared_object_is_emitted_not_the_callers(self) -> None:
        """The emitted value is the policy's own string, not the caller's equal one."""
        kind = Enum("ok")
        runtime = "".join(["o", "k"])
        assert kind.clean(runtime) is kind.values[0]

    def test_str_subclass_with_lying_eq_is_rejected(self) -> None:
        """A str subclass that claims equality with everything does not match."""
        assert Enum("ok").clean(HostileStr("ok")) == "<rejected:enum>"

    def test_int_values_need_exact_ints(self) -> None:
        """Int members do not match bools or floats."""
        kind = Enum(1, 2)
        assert kind.clean(1) == 1
        assert kind.clean(True) == "<rejected:enum>"
        assert kind.clean(1.0) == "<rejected:enum>"
        assert kind.clean("1") == "<rejected:enum>"

    def test_enum_members_are_accepted_by_value(self) -> None:
        """An enum.Enum class declares its values; members pass as their value."""
        kind = Enum(Color)
        assert kind.clean(Color.RED) == "red"
        assert kind.clean("blue") == "blue"
        assert kind.clean("green") == "<rejected:enum>"

    def test_caller_list_is_frozen(self) -> None:
        """Changing the caller's list after construction changes nothing."""
        values = ["ok"]
        kind = Enum(*values)
        values.append("leak")
        assert kind.clean("leak") == "<rejected:enum>"
        assert kind.values == ("ok",)

    def test_bad_values_fail_fast(self) -> None:
        """No values, empty strings or other types are a ConfigurationError."""
        with pytest.raises(ConfigurationError, match="Enum"):
            Enum()
        with pytest.raises(ConfigurationError, match="Enum"):
            Enum("")
        with pytest.raises(ConfigurationError, match="Enum"):
            Enum(1.5)  # type: ignore[arg-type]


class TestHttpMethod:
    def test_standard_methods_normalised(self) -> None:
        """Standard methods pass, upper-cased; others are rejected."""
        assert HttpMethod().clean("get") == "GET"
        assert HttpMethod().clean("DELETE") == "DELETE"
        assert HttpMethod().clean("BREW") == "<rejected:http_method>"
        assert HttpMethod().clean("GET /x") == "<rejected:http_method>"

    def test_overridden_upper_is_not_used(self) -> None:
        """A str subclass whose upper() lies cannot pass as a method."""
        assert HttpMethod().clean(HostileStr("zzz")) == "<rejected:http_method>"


class TestRoute:
    def test_declared_templates_pass_raw_paths_do_not(self) -> None:
        """Only declared templates pass; a raw path is rejected."""
        kind = Route("/pages/{page_id}", "/health")
        assert kind.clean("/pages/{page_id}") == "/pages/{page_id}"
        assert kind.clean("/pages/123") == "<rejected:route>"
        assert kind.clean(f"/users/{CANARY}") == "<rejected:route>"

    def test_bad_templates_fail_fast(self) -> None:
        """A template that is not path-shaped is a ConfigurationError naming Route."""
        with pytest.raises(ConfigurationError, match="Route") as info:
            Route(f"no slash {CANARY}")
        assert CANARY not in str(info.value)


class TestId:
    def test_bounded_identifiers_pass(self) -> None:
        """Identifier-shaped strings within the length pass; ints become decimal strings."""
        assert Id().clean("req-1.a:b_c") == "req-1.a:b_c"
        assert Id().clean(42) == "42"
        assert Id().clean("a" * 64) == "a" * 64

    @pytest.mark.parametrize(
        "value",
        ["", "a b", "a\nb", "a/b", "a" * 65, "\u0661\u0662", "caf\u00e9", "a\u202eb", True],
    )
    def test_other_strings_are_rejected(self, value: object) -> None:
        """Spaces, control characters, non-ASCII, too long, or bool are rejected."""
        assert Id().clean(value) == "<rejected:id>"

    def test_str_subclass_is_read_through_strs_own_slot(self) -> None:
        """A str subclass is emitted as its real characters, as an exact str."""
        out = Id().clean(HostileStr("abc"))
        assert out == "abc"
        assert type(out) is str

    def test_pattern_only_narrows(self) -> None:
        """A pattern narrows the character class and never widens it."""
        kind = Id(pattern=r"req-\d+|.*")
        assert kind.clean("req-1") == "req-1"
        assert kind.clean("has space") == "<rejected:id>"
        assert Id(pattern=r"req-\d+").clean("other") == "<rejected:id>"

    def test_bad_options_fail_fast(self) -> None:
        """A bad max_length or pattern is a ConfigurationError naming Id."""
        with pytest.raises(ConfigurationError, match="Id: max_length"):
            Id(max_length=0)
        with pytest.raises(ConfigurationError, match="Id: pattern"):
            Id(pattern="(")


class TestUuid:
    def test_uuids_emitted_canonical(self) -> None:
        """UUID objects and strings with or without dashes come out canonical."""
        u = uuid.uuid4()
        assert Uuid().clean(u) == str(u)
        assert Uuid().clean(u.hex.upper()) == str(u)
        assert Uuid().clean(str(u)) == str(u)

    def test_other_strings_rejected(self) -> None:
        """Anything not a UUID is rejected."""
        assert Uuid().clean("not-a-uuid") == "<rejected:uuid>"
        assert Uuid().clean(str(uuid.uuid4()) + "x") == "<rejected:uuid>"


class TestHashed:
    def test_stable_for_one_key(self) -> None:
        """The same value under the same key gives the same pseudonym."""
        clean = Hashed().compile(_key())
        assert clean("tenant-1") == clean("tenant-1")
        assert clean("tenant-1") != clean("tenant-2")

    def test_differs_across_keys(self) -> None:
        """Another key gives another pseudonym for the same value."""
        a = Hashed().compile(_key(SECRET))(CANARY)
        b = Hashed().compile(_key(SECRET + b"x"))(CANARY)
        assert a != b
        assert str(a).split(":")[1] != str(b).split(":")[1]

    def test_carries_the_key_id(self) -> None:
        """The output starts with the key id, so keys can rotate."""
        key = _key(key_id="2024a")
        out = Hashed().compile(key)(CANARY)
        assert type(out) is str
        assert out.startswith("2024a:")
        assert len(out.split(":", 1)[1]) == 26
        derived = _key()
        assert str(Hashed().compile(derived)(CANARY)).startswith(derived.key_id + ":")

    def test_no_value_in_output(self) -> None:
        """Neither the value nor the secret appears in the pseudonym."""
        out = str(Hashed().compile(_key())(CANARY))
        assert CANARY not in out
        assert SECRET.decode() not in out

    def test_accepts_str_int_uuid_and_rejects_others(self) -> None:
        """Str, int and UUID values are pseudonymised; bools and bytes are rejected."""
        clean = Hashed().compile(_key())
        u = uuid.uuid4()
        assert str(clean(u)).startswith(_key().key_id)
        assert clean(7) == clean("7")
        assert clean(True) == "<rejected:hashed>"
        assert clean(b"7") == "<rejected:hashed>"
        assert clean("\ud800") == "<rejected:hashed>"

    def test_without_a_key_compile_refuses(self) -> None:
        """Compiling without a key is a ConfigurationError; uncompiled, it rejects."""
        with pytest.raises(ConfigurationError, match="hash key"):
            Hashed().compile(None)
        assert Hashed().clean("x") == "<rejected:hashed>"

    def test_configure_refuses_hashed_without_key(self, console) -> None:
        """configure() refuses a policy with Hashed fields and no key."""
        with pytest.raises(ConfigurationError, match="hash_key"):
            safelog.configure(service="svc", fields={"tenant": Hashed()}, console=console.stream)
        assert not safelog.is_configured()

    def test_key_errors_never_echo_the_secret(self) -> None:
        """A bad key or key id fails naming the option, never the secret."""
        short = "short" + CANARY[:5]
        with pytest.raises(ConfigurationError, match="hash_key") as info:
            make_hash_key(short)
        assert short not in str(info.value)
        with pytest.raises(ConfigurationError, match="hash_key_id") as info:
            make_hash_key(SECRET, f"bad id {CANARY}")
        assert CANARY not in str(info.value)
        assert SECRET.decode() not in repr(_key())


class TestFieldPolicy:
    def test_freezes_the_callers_dict(self) -> None:
        """Mutating the caller's dict after construction changes nothing."""
        fields: dict[str, Kind] = {"page_count": Int()}
        policy = FieldPolicy(fields)
        fields["leak"] = Int()
        del fields["page_count"]
        assert "page_count" in policy
        assert "leak" not in policy
        assert len(policy) == 1
        with pytest.raises(TypeError):
            policy.kinds["x"] = Int()  # type: ignore[index]

    def test_configure_freezes_the_callers_dict(self, console) -> None:
        """A field added to the dict after configure() never reaches a sink."""
        fields: dict[str, Kind] = {"page_count": Int()}
        safelog.configure(service="svc", fields=fields, console=console.stream)
        fields["secret"] = Id()
        safelog.get_logger("t").info("exported", page_count=1, secret="abc")
        (record,) = console.records()
        assert record["page_count"] == 1
        assert "secret" not in record
        assert record["dropped"] == 1

    @pytest.mark.parametrize("name", sorted(RESERVED_KEYS))
    def test_reserved_names_fail_fast(self, name: str) -> None:
        """A built-in key of every record cannot be declared."""
        with pytest.raises(ConfigurationError, match="fields"):
            FieldPolicy({name: Int()})

    @pytest.mark.parametrize(
        "name",
        ["", "1abc", "a-b", "a b", "a" * 65, f"x.{CANARY}", "caf\u00e9", 1, None],
        # A fixed id for the random canary: pytest-xdist workers must
        # collect the same test names.
        ids=lambda value: "canary" if isinstance(value, str) and CANARY in value else None,
    )
    def test_bad_names_fail_fast_without_echoing(self, name: Any) -> None:
        """A name that is not a short identifier fails, naming the option and not the name."""
        with pytest.raises(ConfigurationError, match="fields") as info:
            FieldPolicy({name: Int()})
        assert CANARY not in str(info.value)
        if isinstance(name, str) and name:
            assert name not in str(info.value)

    def test_a_value_that_is_not_a_kind_fails_without_echoing(self) -> None:
        """A non-kind value fails naming the field, never the value's repr."""
        with pytest.raises(ConfigurationError, match="page_count") as info:
            FieldPolicy({"page_count": Clever()})  # type: ignore[dict-item]
        assert CANARY not in str(info.value)

    def test_configure_rejects_reserved_names(self, console) -> None:
        """configure() fails fast on a reserved field name and stays unconfigured."""
        with pytest.raises(ConfigurationError, match="fields"):
            safelog.configure(service="svc", fields={"service": Id()}, console=console.stream)
        assert not safelog.is_configured()

    def test_compile_uses_the_policys_own_names(self) -> None:
        """Compiled entries carry the policy's name string and a cleaner per field."""
        policy = FieldPolicy({"page_count": Int(), "tenant": Hashed()})
        compiled = policy.compile(_key())
        name, clean = compiled["page_count"]
        assert name == "page_count"
        assert clean(3) == 3
        assert policy.needs_key()
        assert not FieldPolicy({"n": Int()}).needs_key()


class TestKinds:
    def test_registry_maps_names_to_kind_classes(self) -> None:
        """KINDS holds every built-in kind under its kind_name."""
        required = {"int", "float", "bool", "enum", "id", "hashed"}
        assert required <= set(KINDS)
        for name, cls in KINDS.items():
            assert issubclass(cls, Kind)
            assert cls.kind_name == name
        assert {type(k).kind_name for k in _all_kinds()} == set(KINDS)

    def test_registry_is_read_only(self) -> None:
        """KINDS cannot be changed at runtime."""
        with pytest.raises(TypeError):
            KINDS["text"] = Kind  # type: ignore[index]

    def test_purpose_must_be_a_string(self) -> None:
        """A non-string purpose is a ConfigurationError."""
        with pytest.raises(ConfigurationError, match="purpose"):
            Int(purpose=1)  # type: ignore[arg-type]
        assert Int(purpose="pages").purpose == "pages"

    def test_public_names_are_reexported(self) -> None:
        """The kinds users write are available from the package."""
        for cls in (Int, Float, Bool, Enum, Id, Hashed, Uuid, Duration, Route):
            assert getattr(safelog, cls.__name__) is cls


class TestEnumBounds:
    def test_enum_values_are_bounded_at_configure(self) -> None:
        """A declared enum value over 256 characters is a configuration error."""
        safelog.Enum("x" * 256)
        with pytest.raises(safelog.ConfigurationError, match="at most 256 characters"):
            safelog.Enum("x" * 257)


class TestMetricMarks:
    def test_metrics_and_dimensions_are_listed_in_declared_order(self) -> None:
        """FieldPolicy lists metric fields with their units and dimension fields, as declared."""
        policy = FieldPolicy(
            {
                "took_s": safelog.Duration(unit="s", metric=True),
                "status": safelog.Enum("ok", dimension=True),
                "pages": safelog.Int(metric="Count"),
                "ratio": safelog.Float(metric=True),
                "plain": safelog.Int(),
                "cached": safelog.Bool(dimension=True),
            }
        )
        assert policy.metrics() == (("took_s", "Seconds"), ("pages", "Count"), ("ratio", "None"))
        assert policy.dimensions() == ("status", "cached")

    def test_marks_do_not_change_what_a_kind_accepts(self) -> None:
        """metric= and dimension= leave clean() as it was."""
        assert safelog.Int(metric="Count").clean(True) == "<rejected:int>"
        assert safelog.Enum("ok", dimension=True).clean("nope") == "<rejected:enum>"

    @pytest.mark.parametrize(
        "kind",
        [
            safelog.Id(dimension=True),
            safelog.Hashed(dimension=True),
            safelog.Uuid(dimension=True),
            safelog.Duration(dimension=True),
            safelog.Uuid(metric=True),
            safelog.HttpStatus(metric="Count"),
            safelog.Int(metric="count"),
        ],
    )
    def test_refused_marks_name_the_field(self, kind: Kind) -> None:
        """A mark the kind cannot carry fails when the policy is built, naming the field."""
        with pytest.raises(ConfigurationError, match=r"^fields: 'f'"):
            FieldPolicy({"f": kind})

    def test_a_subclass_of_a_dimension_kind_is_refused(self) -> None:
        """Only the built-in classes themselves: a subclass's clean() could return anything."""

        class Tier(safelog.Enum):
            def clean(self, value: object) -> Any:
                return value

        with pytest.raises(ConfigurationError, match="dimension"):
            FieldPolicy({"tier": Tier("gold", dimension=True)})

    def test_aws_and_scope_keys_are_reserved(self) -> None:
        """A field cannot take the keys metrics, buffering and sampling add."""
        for name in ("_aws", "buffered", "sampling_rate"):
            with pytest.raises(ConfigurationError, match="built-in key"):
                FieldPolicy({name: safelog.Int()})


# -- issue 16.4: payment-card-shaped numbers -------------------------------------

#: Luhn-valid test card numbers (the card schemes' public test numbers).
CARDS = ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117"]


class TestCardNumbers:
    @pytest.mark.parametrize("card", CARDS)
    def test_id_rejects_card_numbers(self, card: str) -> None:
        """request_id='4111111111111111' is rejected by Id, compiled or not."""
        kind = Id()
        assert kind.clean(card) == "<rejected:id>"
        assert kind.compile(None)(card) == "<rejected:id>"
        assert kind.compile(None)(int(card)) == "<rejected:id>"

    @pytest.mark.parametrize(
        "text", ["acct-4111111111111111", "4111-1111-1111-1111", "order_4111111111111111x"]
    )
    def test_id_rejects_card_numbers_inside_an_id(self, text: str) -> None:
        """A card number grouped by dashes or inside a longer id is rejected too."""
        assert Id().compile(None)(text) == "<rejected:id>"

    @pytest.mark.parametrize("card", CARDS)
    def test_int_and_float_reject_card_numbers(self, card: str) -> None:
        """attempt=4111111111111111 is rejected by Int and Float, compiled or not."""
        for kind in (Int(), Float()):
            assert kind.clean(int(card)) == kind.marker
            assert kind.compile(None)(int(card)) == kind.marker
            assert kind.compile(None)(-int(card)) == kind.marker
        assert Float().compile(None)(float(card)) == "<rejected:float>"

    def test_retention_non_luhn_and_short_numbers_pass(self) -> None:
        """Numbers failing Luhn, or shorter than 13 digits, pass; so do ordinary ids."""
        assert Id().compile(None)("4111111111111112") == "4111111111111112"
        assert Int().compile(None)(4111111111111112) == 4111111111111112
        assert Int().compile(None)(999_999_999_999) == 999_999_999_999
        assert Id().compile(None)("9f1c2d3e-0000-4000-8000-00000000000a") == (
            "9f1c2d3e-0000-4000-8000-00000000000a"
        )
        assert Id().compile(None)("tenant-42") == "tenant-42"

    @pytest.mark.parametrize("card", CARDS)
    def test_explicit_opt_out(self, card: str) -> None:
        """allow_card_numbers=True lets such numbers through, and the inventory says so."""
        assert Id(allow_card_numbers=True).compile(None)(card) == card
        assert Int(allow_card_numbers=True).compile(None)(int(card)) == int(card)
        assert Float(allow_card_numbers=True).compile(None)(int(card)) == float(card)
        assert Int(allow_card_numbers=True).constraints()["allow_card_numbers"] is True

    def test_opt_out_from_pyproject(self) -> None:
        """allow_card_numbers = true in [tool.safelog.fields] is the same opt-out."""
        from safelog._pyproject import kind_from_spec

        kind = kind_from_spec("account_no", {"kind": "id", "allow_card_numbers": True})
        assert kind.compile(None)(CARDS[0]) == CARDS[0]
        assert kind_from_spec("account_no", "id").compile(None)(CARDS[0]) == "<rejected:id>"

    def test_opt_out_must_be_a_bool(self) -> None:
        """A non-bool opt-out is a ConfigurationError naming the option."""
        with pytest.raises(ConfigurationError, match="allow_card_numbers"):
            Id(allow_card_numbers="yes")  # type: ignore[arg-type]

    def test_through_the_chain(self, console) -> None:
        """Logged as declared Id and Int fields, a card number never reaches the sink."""
        safelog.configure(
            service="svc",
            fields={"request_id": Id(), "attempt": Int()},
            console=console.stream,
        )
        safelog.get_logger("t").info("card_attack", request_id=CARDS[0], attempt=int(CARDS[1]))
        (rec,) = console.records()
        assert rec["request_id"] == "<rejected:id>"
        assert rec["attempt"] == "<rejected:int>"
        assert CARDS[0] not in console.text
        assert CARDS[1] not in console.text


# -- issue 16.5: numpy scalars ----------------------------------------------------


class TestNumpyScalars:
    def test_numpy_scalars_are_accepted_by_value(self) -> None:
        """np.int64, np.float32 and np.bool_ are accepted as their plain values."""
        np = pytest.importorskip("numpy")
        for clean in (Int().clean, Int().compile(None)):
            out = clean(np.int64(7))
            assert out == 7
            assert type(out) is int
            assert clean(np.uint8(200)) == 200
        for clean in (Float().clean, Float().compile(None)):
            out = clean(np.float32(0.5))
            assert out == 0.5
            assert type(out) is float
            assert clean(np.int32(3)) == 3.0
        for clean in (Bool().clean, Bool().compile(None)):
            out = clean(np.bool_(True))
            assert out is True

    def test_numpy_scalars_still_checked(self) -> None:
        """Bounds, finiteness and the card check apply to numpy values too."""
        np = pytest.importorskip("numpy")
        assert Int(max=10).clean(np.int64(11)) == "<rejected:int>"
        assert Float().clean(np.float32("nan")) == "<rejected:float>"
        assert Int().clean(np.int64(int(CARDS[0]))) == "<rejected:int>"
        assert Int().clean(np.float64(1.0)) == "<rejected:int>"
        assert Bool().clean(np.int64(1)) == "<rejected:bool>"

    def test_numpy_not_imported_by_safelog(self) -> None:
        """Checking a value never imports numpy."""
        import subprocess
        import sys

        code = (
            "import sys, safelog\n"
            "from safelog.policy import Int, Float, Bool\n"
            "Int().clean(object()); Float().clean(object()); Bool().clean(object())\n"
            "assert 'numpy' not in sys.modules\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- issue 16.7: hash keys -------------------------------------------------------------


class TestHashKeys:
    @pytest.mark.parametrize("length", [1, 16, 31])
    def test_short_keys_are_refused(self, length: int) -> None:
        """A key shorter than 32 bytes is a ConfigurationError naming hash_key."""
        secret = uuid.uuid4().hex.encode()[:length] if length <= 32 else b""
        with pytest.raises(ConfigurationError, match="hash_key: must be at least 32 bytes"):
            make_hash_key(secret)

    @pytest.mark.parametrize(
        "secret",
        [
            "use-SAFELOG_HASH_KEY-from-your-secret-store",
            "example-only-key-do-not-use-in-prod",
            "k" * 32,
            "ab" * 40,
        ],
    )
    def test_documented_and_placeholder_keys_are_refused(self, secret: str) -> None:
        """The README's and examples' keys, and keys of a few repeated bytes, are refused."""
        with pytest.raises(ConfigurationError, match="example or placeholder") as info:
            make_hash_key(secret)
        assert secret not in str(info.value)

    def test_docs_show_no_usable_key(self) -> None:
        """No key written in the README, docs or examples works as a key."""
        import re

        from pathlib import Path

        root = Path(__file__).resolve().parents[1]
        texts = [
            root / "README.md",
            *sorted((root / "docs").glob("*.md")),
            *sorted((root / "examples").rglob("*.py")),
        ]
        key = re.compile(r'(?:hash_key\s*=\s*|HASH_KEY\s*=\s*|"SAFELOG_HASH_KEY",\s*)"([^"]+)"')
        for path in texts:
            for literal in key.findall(path.read_text(encoding="utf-8")):
                with pytest.raises(ConfigurationError):
                    make_hash_key(literal)

    def test_a_random_key_is_accepted(self) -> None:
        """A random 32-byte key works (retention)."""
        import secrets

        assert make_hash_key(secrets.token_bytes(32)).secret
        assert make_hash_key(secrets.token_hex(16)).secret
