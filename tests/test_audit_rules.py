"""The audit's rules: stored records judged by the runtime's validators and content shapes."""

from __future__ import annotations

import json

import safelog

from audit_corpus import EMAIL, SECRET
from safelog.audit import RecordChecker
from safelog.audit._rules import kind_passes, looks_like_content
from safelog.policy import FieldPolicy


class TestRules:
    def test_runtime_validators_decide_kinds(self) -> None:
        """A stored value passes exactly when the runtime kind returns it unchanged (or it is the marker)."""
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
        """E-mails, card numbers, URLs with queries, JWTs and random tokens look like content; names do not."""
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
