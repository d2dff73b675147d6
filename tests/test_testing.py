"""safelog.testing: canaries, the detector, the full-chain capture and its assertions."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import random
import re
import string
import subprocess
import sys
import threading
import traceback
import urllib.parse
import uuid
import warnings

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

import safelog

from safelog import testing
from safelog.policy import Scalar
from strategies import qualname_or_name


KINDS = testing.CANARY_KINDS


class AnyString(safelog.Kind):
    """A deliberately unsafe kind: accepts any string (what a careless policy does)."""

    kind_name = "anystring"
    __slots__ = ()

    def clean(self, value: object) -> Scalar:
        return value if type(value) is str else self.marker


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


def _random_part(value: str) -> str:
    """The 20-character random part a canary template embeds (the JWT's is in its payload)."""
    if value.startswith("eyJ"):
        payload = json.loads(base64.urlsafe_b64decode(value.split(".")[1] + "=="))
        return str(payload["sub"])
    m = re.search(r"[a-km-np-z2-9]{20}", value)
    assert m is not None
    return m.group()


@pytest.fixture
def configured(console: Any) -> Callable[..., Any]:
    """Configure safelog with a console stream; returns the console capture."""

    def go(**fields: safelog.Kind) -> Any:
        safelog.configure(service="svc", fields=fields, console=console.stream)
        return console

    return go


class TestCanary:
    @pytest.mark.parametrize("kind", KINDS)
    def test_each_canary_is_fresh(self, kind: testing.CanaryKind) -> None:
        """Two canaries of one kind never repeat, and each is a plain str."""
        values = {testing.canary(kind) for _ in range(50)}
        assert len(values) == 50
        assert all(type(v) is str for v in values)

    def test_text_has_non_ascii(self) -> None:
        """Free text carries non-ASCII, so JSON and repr escaping change it."""
        assert not testing.canary("text").isascii()

    def test_body_is_multi_line(self) -> None:
        """A body has several lines, a quote, a tab and a backslash."""
        body = testing.canary("body")
        assert body.count("\n") >= 3
        assert '"' in body
        assert "\t" in body
        assert "\\" in body

    def test_email_is_an_email(self) -> None:
        """An email canary looks like an address."""
        assert re.fullmatch(r"[a-z0-9.]+@example\.org", testing.canary("email"))

    def test_card_is_luhn_valid(self) -> None:
        """A card canary is a 16-digit, Luhn-valid number (checked independently)."""
        for _ in range(200):
            card = testing.canary("card")
            assert re.fullmatch(r"\d{16}", card)
            assert _luhn_ok(card)

    def test_token_is_jwt_shaped(self) -> None:
        """A token is three base64url parts whose header decodes to a JWT header."""
        token = testing.canary("token")
        header, payload, signature = token.split(".")
        assert json.loads(base64.urlsafe_b64decode(header + "=="))["typ"] == "JWT"
        assert "sub" in json.loads(base64.urlsafe_b64decode(payload + "=="))
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", signature)

    def test_url_has_a_query_string(self) -> None:
        """A URL canary has a path and a query string."""
        parts = urllib.parse.urlsplit(testing.canary("url"))
        assert parts.scheme == "https"
        assert parts.path.startswith("/pages/")
        assert urllib.parse.parse_qs(parts.query)["q"]

    def test_account_id_passes_an_id_field(self) -> None:
        """An account id canary passes safelog.Id(): the case a policy can get wrong."""
        value = testing.canary("account_id")
        assert safelog.Id().clean(value) == value

    def test_unknown_kind_is_refused(self) -> None:
        """An unknown kind is a ValueError that lists the kinds."""
        with pytest.raises(ValueError, match="account_id"):
            testing.canary("password")  # type: ignore[arg-type]

    def test_factory_remembers_what_it_made(self) -> None:
        """The factory behind the pytest fixture records each canary it issues."""
        factory = testing.CanaryFactory()
        made = [factory(), factory("card")]
        assert factory.issued == tuple(made)


# Each encoding a sink could produce, as a function of the canary.
def _b64_at(offset: int, alphabet: Callable[[bytes], bytes]) -> Callable[[str], str]:
    def enc(c: str) -> str:
        data = b"x" * offset + b"prefix bytes:" + c.encode() + b":suffix"
        return alphabet(data).decode()

    return enc


ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda c: f"before {c} after",
    "json_unicode": lambda c: json.dumps({"v": c}, ensure_ascii=False),
    "json_ascii": lambda c: json.dumps({"v": c}),
    "json_twice": lambda c: json.dumps({"v": json.dumps({"inner": c})}),
    "repr": lambda c: repr({"v": c}),
    "ascii_repr": lambda c: ascii([c]),
    "bytes_repr": lambda c: repr(c.encode()),
    "url_quote": lambda c: "/x?" + urllib.parse.quote(c),
    "url_quote_safe_none": lambda c: "/x?a=" + urllib.parse.quote(c, safe=""),
    "url_quote_plus": lambda c: urllib.parse.urlencode({"a": c}),
    "url_lower_hex": lambda c: urllib.parse.quote(c, safe="").lower(),
    "b64_std_0": _b64_at(0, base64.b64encode),
    "b64_std_1": _b64_at(1, base64.b64encode),
    "b64_std_2": _b64_at(2, base64.b64encode),
    "b64_url_0": _b64_at(0, base64.urlsafe_b64encode),
    "b64_url_1": _b64_at(1, base64.urlsafe_b64encode),
    "b64_url_2": _b64_at(2, base64.urlsafe_b64encode),
    "b64_mime_wrapped": lambda c: base64.encodebytes(b"..." + c.encode() * 3).decode(),
    "upper": lambda c: c.upper(),
    "lower": lambda c: c.lower(),
    "casefold": lambda c: c.casefold(),
    "hex": lambda c: "0x" + c.encode().hex(),
    "truncated": lambda c: c[: c.find(_distinct(c)) + (15 if c.isdigit() else 13)] + "...",
}


def _distinct(c: str) -> str:
    """The random part of *c* (the whole number for a card)."""
    if c.isdigit():
        return c
    if c.startswith("eyJ"):
        return c.rsplit(".", 1)[1]
    return _random_part(c)


def _fragment(c: str) -> str:
    part = _distinct(c)
    start, size = (1, 14) if c.isdigit() else (3, 12)
    return "log: " + part[start : start + size] + " end"


class TestDetector:
    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("encoding", [*ENCODINGS, "fragment"])
    def test_every_encoding_is_caught(self, kind: testing.CanaryKind, encoding: str) -> None:
        """A canary is found raw, escaped, URL-encoded, base64, case-folded, hex or in part."""
        c = testing.canary(kind)
        text = _fragment(c) if encoding == "fragment" else ENCODINGS[encoding](c)
        leaks = testing.find_leaks(text, c)
        assert leaks, f"{encoding} of a {kind} canary was not caught"
        assert leaks[0].kind == kind

    def test_a_long_scan_finds_and_names_what_a_short_one_does(self) -> None:
        """Past the first lines a scan pre-filters texts: every leak is still found, named alike."""
        noise = [json.dumps({"event": "x", "v": uuid.UUID(int=i).hex}) for i in range(40)]
        for kind in KINDS:
            c = testing.canary(kind)
            texts = [_fragment(c), *(enc(c) for enc in ENCODINGS.values())]
            texts += [json.dumps({"event": "e", "nested": {"k": [t]}}) for t in texts]
            alone = [(leak.encoding, leak.path) for t in texts for leak in testing.find_leaks(t, c)]
            # The same lines after the noise, scanned together with other canaries.
            other = testing.canary("email")
            long = testing.find_leaks([*noise, *texts], other, c)
            assert len(alone) >= len(texts)
            assert [(leak.encoding, leak.path) for leak in long] == alone, kind

    def test_the_encoding_is_named(self) -> None:
        """The leak says how the canary was encoded."""
        c = testing.canary("body")
        assert testing.find_leaks(c, c)[0].encoding == "raw"
        assert testing.find_leaks(json.dumps(c)[1:-1], c)[0].encoding.startswith("JSON-escaped")
        assert testing.find_leaks(urllib.parse.quote_plus(c), c)[0].encoding.startswith(
            "URL-encoded"
        )
        assert testing.find_leaks(base64.b64encode(c.encode()).decode(), c)[0].encoding.startswith(
            "base64"
        )
        assert testing.find_leaks(c.upper(), c)[0].encoding.startswith("case-folded")
        assert testing.find_leaks(_fragment(c), c)[0].encoding.startswith("fragment")

    def test_card_grouped_and_as_a_number(self) -> None:
        """A card number is found grouped with spaces or dashes, and as a JSON number."""
        c = testing.canary("card")
        grouped = " ".join(c[i : i + 4] for i in range(0, 16, 4))
        assert testing.find_leaks(grouped, c)
        assert testing.find_leaks(grouped.replace(" ", "-"), c)
        leaks = testing.find_leaks(json.dumps({"amount": int(c)}), c)
        assert [leak.path for leak in leaks] == ["$.amount"]

    def test_masked_card_is_not_a_leak(self) -> None:
        """The PCI masked form (first six, last four) is not flagged."""
        c = testing.canary("card")
        assert testing.find_leaks(c[:6] + "******" + c[-4:], c) == []

    def test_short_fragment_is_not_a_leak(self) -> None:
        """Eleven characters of the random part are below the fragment threshold."""
        c = testing.canary("email")
        assert testing.find_leaks("id " + _random_part(c)[:11] + " id", c) == []

    def test_field_path_and_call_site(self) -> None:
        """A leak in a record names the JSON path, the call site, event and level."""
        c = testing.canary("text")
        record = {
            "event": "export_failed",
            "level": "error",
            "module": "app.export",
            "function": "Exporter.run",
            "line": 42,
            "error": {"frames": [{"function": "ok"}, {"function": c}]},
            "weird key": [c],
        }
        leaks = testing.find_leaks(json.dumps(record), c, sink="console")
        assert [leak.path for leak in leaks] == ["$.error.frames[1].function", '$["weird key"][0]']
        first = leaks[0]
        assert (first.module, first.function, first.line) == ("app.export", "Exporter.run", 42)
        assert (first.event, first.level, first.sink) == ("export_failed", "error", "console")
        text = str(first)
        for piece in (
            "'text'",
            "console",
            "$.error.frames[1].function",
            "app.export:Exporter.run, line 42",
        ):
            assert piece in text

    def test_a_key_is_searched_too(self) -> None:
        """A canary used as a dictionary key is found, and the path says so."""
        c = testing.canary("email")
        (leak,) = testing.find_leaks(json.dumps({"extra": {c: 1}}), c)
        assert leak.path.endswith("(the key itself)")

    def test_non_json_output_is_scanned(self) -> None:
        """Output that is not a JSON record is scanned whole."""
        c = testing.canary("url")
        (leak,) = testing.find_leaks(f"plain text {c}\n", c)
        assert leak.path == "(not a JSON record)"

    def test_plain_strings_need_a_minimum_length(self) -> None:
        """A string not made by canary() must be long enough not to match innocent output."""
        with pytest.raises(ValueError, match="at least"):
            testing.find_leaks("anything", "secret")
        leaks = testing.find_leaks("xx Top Secret Plan yy", "top secret plan")
        assert leaks[0].kind == "custom"

    def test_no_false_positives_over_a_large_sample(self) -> None:
        """Similar text (other canaries, ids, hashes, base64, numbers) never flags a canary."""
        rng = random.Random(20240601)
        targets = [testing.canary(k) for k in KINDS for _ in range(3)]
        # Other canaries share every template word and shape but not the random part.
        similar = [testing.canary(k) for k in KINDS for _ in range(300)]
        noise = []
        for _ in range(3000):
            noise.append(str(uuid.UUID(int=rng.getrandbits(128))))
            noise.append(base64.b64encode(rng.randbytes(48)).decode())
            noise.append(rng.randbytes(24).hex())
            noise.append(str(rng.getrandbits(64)))
            noise.append(
                "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(40))
            )
        lines = [json.dumps({"event": "x", "v": s}) for s in similar + noise]
        lines += [json.dumps({"v": s}, ensure_ascii=True) for s in similar]
        lines += [base64.b64encode(s.encode()).decode() for s in similar]
        assert testing.find_leaks(lines, *targets) == []

    @settings(max_examples=300, deadline=None)
    @given(st.text(min_size=0, max_size=400))
    def test_random_text_is_not_flagged(self, text: str) -> None:
        """Arbitrary text does not contain a fresh canary in any encoding."""
        targets = [testing.canary(k) for k in KINDS]
        assert testing.find_leaks(text, *targets) == []


class TestCapture:
    def test_needs_configured_safelog(self) -> None:
        """Capturing an unconfigured safelog fails loudly, saying what to do."""
        with pytest.raises(RuntimeError, match=r"safelog\.configure"):
            testing.capture().__enter__()

    def test_records_are_the_rendered_output(self, configured: Any) -> None:
        """The capture holds exactly the lines the console sink got, after every processor."""
        console = configured(n=safelog.Int())
        log = safelog.get_logger(__name__)
        with testing.capture() as cap:
            log.info("counted", n=3, undeclared="customer words")
            logging.getLogger("third.party").warning("hello %s", "customer words")
        assert cap.lines == console.text.splitlines()
        first, second = cap.records
        assert first["event"] == "counted"
        assert first["n"] == 3
        assert first["dropped"] == 1
        assert "undeclared" not in first
        assert second["event"] == "hello %s"
        assert second["dropped"] == 1

    def test_an_unsafe_policy_fails_the_leak_assertion(self, configured: Any) -> None:
        """A custom kind accepting any string lets the canary through, and the capture sees it."""
        configured(note=AnyString(), n=safelog.Int())
        log = safelog.get_logger(__name__)
        secret = testing.canary("text")
        with testing.capture() as cap:
            log.info("noted", note=secret, n=1)
            cap.assert_logged("noted", n=1)
            with pytest.raises(AssertionError) as info:
                cap.assert_no_leaks(secret)
        message = str(info.value)
        assert "canary of kind 'text'" in message
        assert "$.note" in message
        assert (
            qualname_or_name("TestCapture.test_an_unsafe_policy_fails_the_leak_assertion")
            in message
        )
        assert "sink:      dispatched line (to console)" in message

    def test_the_same_call_with_a_safe_policy_passes(self, configured: Any) -> None:
        """With a proper kind the value becomes a marker: no leak, and the metadata is there."""
        configured(note=safelog.Enum("draft", "final"), n=safelog.Int())
        log = safelog.get_logger(__name__)
        secret = testing.canary("text")
        with testing.capture() as cap:
            log.info("noted", note=secret, n=1)
            cap.assert_no_leaks(secret)
            record = cap.assert_logged("noted", n=1, note="<rejected:enum>")
        assert record["level"] == "info"

    def test_an_account_id_declared_as_id_is_caught(self, configured: Any) -> None:
        """Personal data declared as a plain Id() passes the chain; the leak test catches it."""
        configured(account=safelog.Id())
        log = safelog.get_logger(__name__)
        acct = testing.canary("account_id")
        with testing.capture() as cap:
            log.info("account_viewed", account=acct)
            with pytest.raises(AssertionError, match="'account_id'"):
                cap.assert_no_leaks(acct)

    def test_canaries_made_during_the_capture_are_watched(self, configured: Any) -> None:
        """Without arguments the assertion checks every canary made while capturing."""
        configured(note=AnyString())
        log = safelog.get_logger(__name__)
        with testing.capture() as cap:
            clean, leaked = testing.canary("email"), testing.canary("card")
            log.info("noted", note=f"ref {leaked}")
            with pytest.raises(AssertionError) as info:
                cap.assert_no_leaks()
        assert leaked in str(info.value)
        assert clean not in str(info.value)
        assert set(cap.watched) == {clean, leaked}

    def test_a_check_of_nothing_fails(self, configured: Any) -> None:
        """assert_no_leaks() with no canaries at all refuses to pass vacuously."""
        configured()
        with testing.capture() as cap, pytest.raises(AssertionError, match="check nothing"):
            cap.assert_no_leaks()

    def test_module_functions_use_the_innermost_capture(self, configured: Any) -> None:
        """assert_no_leaks and assert_logged work on the active capture; outside one they say so."""
        configured(note=AnyString())
        log = safelog.get_logger(__name__)
        c = testing.canary("token")
        with testing.capture():
            log.info("noted", note="fine")
            testing.assert_logged("noted", note="fine")
            testing.assert_no_leaks(c)
            log.info("noted", note=c)
            with pytest.raises(AssertionError, match="'token'"):
                testing.assert_no_leaks(c)
        with pytest.raises(RuntimeError, match="active"):
            testing.assert_no_leaks(c)

    def test_assert_logged_names_fields_never_logged_values(self, configured: Any) -> None:
        """A missing record is described by field names; the logged values are not echoed."""
        configured(account=safelog.Id(), n=safelog.Int())
        log = safelog.get_logger(__name__)
        acct = testing.canary("account_id")
        with testing.capture() as cap:
            log.info("viewed", account=acct, n=1)
            with pytest.raises(AssertionError) as info:
                cap.assert_logged("viewed", account="acct-other", n=2, extra=True)
            with pytest.raises(AssertionError, match="none has event"):
                cap.assert_logged("never_logged")
        message = str(info.value)
        assert acct not in message
        assert "different value for account, n" in message
        assert "missing extra" in message

    def test_assert_logged_compares_types_strictly(self, configured: Any) -> None:
        """True is not 1, "3" is not 3; an int matches the same float."""
        configured(flag=safelog.Bool(), n=safelog.Int(), f=safelog.Float())
        log = safelog.get_logger(__name__)
        with testing.capture() as cap:
            log.info("typed", flag=True, n=3, f=2.0)
            cap.assert_logged("typed", flag=True, n=3, f=2)
            for wrong in ({"flag": 1}, {"n": "3"}, {"n": True}):
                with pytest.raises(AssertionError):
                    cap.assert_logged("typed", **wrong)

    def test_lines_from_every_thread_are_captured(self, configured: Any) -> None:
        """The capture is thread-safe: every line from every thread is recorded once."""
        configured(n=safelog.Int())
        log = safelog.get_logger(__name__)

        def work(base: int) -> None:
            for i in range(200):
                log.info("tick", n=base + i)

        with testing.capture() as cap:
            threads = [threading.Thread(target=work, args=(t * 1000,)) for t in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert sorted(r["n"] for r in cap.records) == sorted(
            t * 1000 + i for t in range(8) for i in range(200)
        )

    def test_the_listener_is_removed_on_exit(self, configured: Any) -> None:
        """After the block, nothing more is recorded and the dispatcher holds no listener."""
        configured()
        log = safelog.get_logger(__name__)
        with testing.capture() as outer:
            with testing.capture() as inner:
                log.info("one")
            log.info("two")
        log.info("three")
        assert [r["event"] for r in inner.records] == ["one"]
        assert [r["event"] for r in outer.records] == ["one", "two"]
        state = safelog._config.current_state()
        assert state.chain.dispatcher._listeners == ()

    def test_a_bypassing_handler_fails_the_assertion(self, configured: Any) -> None:
        """A stdlib handler that sees records before the chain makes the capture refuse to vouch."""
        configured()
        c = testing.canary("email")
        leaky = logging.StreamHandler(io.StringIO())
        lg = logging.getLogger("tests.bypass")
        lg.addHandler(leaky)
        try:
            with testing.capture() as cap, pytest.raises(AssertionError) as info:
                cap.assert_no_leaks(c)
        finally:
            lg.removeHandler(leaky)
        assert "bypass" in str(info.value)
        assert "StreamHandler" in str(info.value)

    def test_pytest_handlers_are_tolerated(self, configured: Any) -> None:
        """pytest's own capture handler on the root logger belongs to the test run, not a sink."""
        from _pytest.logging import LogCaptureHandler

        configured()
        c = testing.canary("email")
        handler = LogCaptureHandler()
        logging.getLogger().addHandler(handler)
        try:
            with testing.capture() as cap:
                assert cap.problems() == []
                cap.assert_no_leaks(c)
        finally:
            logging.getLogger().removeHandler(handler)

    def test_stdlib_not_captured_is_a_problem(self, console: Any) -> None:
        """With capture_stdlib=False the capture says it cannot see stdlib records."""
        safelog.configure(service="svc", console=console.stream, capture_stdlib=False)
        with testing.capture() as cap:
            assert any("capture_stdlib=False" in p for p in cap.problems())
        with testing.capture(strict=False) as cap:
            assert cap.problems() == []

    def test_reconfiguring_during_the_capture_is_a_problem(
        self, configured: Any, console: Any
    ) -> None:
        """A capture whose chain was replaced says so instead of passing."""
        configured()
        c = testing.canary("text")
        with testing.capture() as cap:
            safelog.shutdown()
            safelog.configure(service="svc", console=console.stream)
            with pytest.raises(AssertionError, match="reconfigured"):
                cap.assert_no_leaks(c)

    @pytest.mark.parametrize(
        ("hooks", "missing"),
        [
            (False, ["sys.excepthook", "threading.excepthook", "sys.unraisablehook"]),
            (["excepthook"], ["threading.excepthook", "sys.unraisablehook"]),
            (["excepthook", "threading", "unraisable"], []),
        ],
    )
    def test_hooks_left_out_are_a_problem(
        self, console: Any, hooks: Any, missing: list[str]
    ) -> None:
        """Each hook configure(hooks=...) left out is named: its default prints to stderr."""
        safelog.configure(service="svc", console=console.stream, hooks=hooks)
        c = testing.canary("email")
        with testing.capture() as cap:
            with pytest.raises(AssertionError) as info:
                cap.assert_no_leaks(c)
            assert "warnings.showwarning" in str(info.value)
            assert "hooks=" in str(info.value)
            for name in missing:
                assert name in str(info.value)
        with testing.capture(strict=False) as cap:
            assert cap.problems() == []

    def test_all_hooks_installed_is_no_problem(self, configured: Any) -> None:
        """With every hook installed (the default), the hooks raise no problem."""
        configured()
        with testing.capture() as cap:
            assert cap.problems() == []

    def test_a_hook_replaced_after_configure_is_a_problem(
        self, configured: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A hook someone replaced after configure() is named; the warning recorder is not."""
        configured()

        def theirs(*args: object) -> None:
            pass

        with testing.capture() as cap:
            monkeypatch.setattr(threading, "excepthook", theirs)
            assert any("threading.excepthook" in p and "replaced" in p for p in cap.problems())
            monkeypatch.undo()
            with warnings.catch_warnings(record=True):
                # Recorded warnings print nothing: pytest.warns and pytest's
                # own warning capture work this way.
                assert cap.problems() == []


class _ArchiveSink:
    """A sink that keeps what it receives and can be read back, as the CloudWatch sink can."""

    def __init__(self) -> None:
        self.stored: list[str] = []

    def write(self, line: str) -> None:
        self.stored.append(line)

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        pass

    def read_back(self, timeout: float = 10.0) -> list[str]:
        return list(self.stored)


class _ArchiveFactory:
    def __init__(self) -> None:
        self.sink = _ArchiveSink()

    def create_sink(self, metadata: Mapping[str, Any], *, report: Any = None) -> _ArchiveSink:
        return self.sink


class TestReadBack:
    def test_a_stored_copy_is_checked_too(self, console: Any) -> None:
        """What a readable sink stored is scanned and named as that sink."""
        archive = _ArchiveFactory()
        safelog.configure(
            service="svc", fields={"note": AnyString()}, console=False, cloudwatch=archive
        )
        log = safelog.get_logger(__name__)
        c = testing.canary("body")
        with testing.capture() as cap:
            log.info("noted", note=c)
            cap.clear()  # only the stored copy still holds it
            with pytest.raises(AssertionError) as info:
                cap.assert_no_leaks(c)
        assert "_archive (stored copy, read back)" in str(info.value)
        assert "$.note" in str(info.value)

    def test_assert_logged_requires_the_stored_copy(self, console: Any) -> None:
        """A record dispatched but not stored fails assert_logged, naming the sink."""
        archive = _ArchiveFactory()
        safelog.configure(
            service="svc", fields={"n": safelog.Int()}, console=False, cloudwatch=archive
        )
        log = safelog.get_logger(__name__)
        with testing.capture() as cap:
            log.info("counted", n=1)
            cap.assert_logged("counted", n=1)
            archive.sink.stored.clear()
            with pytest.raises(AssertionError, match=r"_archive \(stored copy"):
                cap.assert_logged("counted", n=1)


class TestProcessStreams:
    def test_print_exc_leak_fails(self, configured: Any) -> None:
        """A canary that traceback.print_exc() writes to stderr fails the leak check."""
        configured()
        with testing.capture() as cap:
            secret = testing.canary("email")
            try:
                int(secret)
            except ValueError:
                traceback.print_exc()
            with pytest.raises(AssertionError) as info:
                cap.assert_no_leaks()
        message = str(info.value)
        assert "sink:      process stderr (file descriptor 2)" in message
        assert "canary of kind 'email' found" in message

    def test_descriptor_and_child_writes_are_seen(self, configured: Any) -> None:
        """os.write(1, ...) and a subprocess inheriting stderr are both checked."""
        configured()
        with testing.capture() as cap:
            first = testing.canary("token")
            second = testing.canary("card")
            os.write(1, f"raw {first}\n".encode())
            subprocess.run(
                [sys.executable, "-c", f"import sys; sys.stderr.write({second!r})"],
                check=True,
                timeout=60,
            )
            with pytest.raises(AssertionError) as info:
                cap.assert_no_leaks()
        message = str(info.value)
        assert "process stdout (file descriptor 1)" in message
        assert "process stderr (file descriptor 2)" in message
        assert "2 leak(s)" in message

    def test_output_still_reaches_the_test_runner(
        self, configured: Any, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """What the test printed during the capture is handed on when it ends."""
        configured()
        with testing.capture():
            print("visible after")
            os.write(2, b"also after\n")
        got = capfd.readouterr()
        assert "visible after" in got.out
        assert "also after" in got.err

    def test_streams_false_does_not_look(self, configured: Any) -> None:
        """capture(streams=False) checks the chain's lines only."""
        configured()
        with testing.capture(streams=False) as cap:
            print(testing.canary("email"))
            cap.assert_no_leaks()
            assert cap.process_output() == []

    def test_clean_output_passes(self, configured: Any) -> None:
        """Output without a canary is fine: only canaries fail."""
        configured()
        with testing.capture() as cap:
            secret = testing.canary("email")
            print("progress: 3 of 4")
            safelog.get_logger(__name__).info("noted", note=secret)
            cap.assert_no_leaks()
            stdout = "process stdout (file descriptor 1)"
            assert (stdout, "progress: 3 of 4") in cap.process_output()

    def test_stdio_guard_output_is_metadata(self, console: Any) -> None:
        """Under configure(stdio='guard'), print() of a canary reaches the process as a record."""
        safelog.configure(service="svc", stdio="guard")
        with testing.capture() as cap:
            print("for", testing.canary("email"))
            cap.assert_no_leaks()
            lines = [line for _, line in cap.process_output()]
        assert [json.loads(line)["event"] for line in lines] == ["stdio_write"]

    def test_python_output_is_passed_on_at_once(
        self, configured: Any, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """print() inside a capture reaches capsys immediately: readouterr() mid-test works."""
        configured()
        with testing.capture() as cap:
            print("seen now")
            assert capsys.readouterr().out == "seen now\n"
            assert ("process stdout (file descriptor 1)", "seen now") in cap.process_output()


class TestNames:
    def test_old_name_warns_and_still_works(self) -> None:
        """safelog.testing.LogCapture is the renamed SafelogCapture, with a DeprecationWarning."""
        with pytest.warns(DeprecationWarning, match="SafelogCapture"):
            old = testing.LogCapture
        assert old is testing.SafelogCapture

    def test_new_name_does_not_clash_with_structlog(self) -> None:
        """The capture class is not named like structlog.testing.LogCapture."""
        import structlog.testing

        assert testing.SafelogCapture.__name__ not in vars(structlog.testing)
        assert "LogCapture" not in testing.__all__
