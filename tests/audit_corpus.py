"""Shared data of the audit tests: the policy, the service's code, the planted records."""

from __future__ import annotations

import json
import uuid


POLICY_TOML = """
[tool.safelog]
service = "exporter"

[tool.safelog.fields]
status     = { kind = "enum", values = ["ok", "failed"] }
page_count = { kind = "int", min = 0 }
tenant     = "hashed"
request_id = { kind = "id", max_length = 36 }
took       = { kind = "duration", unit = "ms" }
"""

SERVICE_CODE = """
import safelog
log = safelog.get_logger()
EXPORTED = "export.finished"

def run():
    log.info("export.started", page_count=1)
    log.info(EXPORTED, status="ok")
    log.warning("export.slow" if True else "export.fast")
    log.exception("export.failed")
"""

# Planted values: none of these may appear in any report.
EMAIL = "mallory.canary@example.org"
SECRET = "Zq8vN3kP0rT7wX2yB5mC9dF4gH6jL1sA"
SENTENCE = "Customer Alice Canary uploaded her tax return"
UNDECLARED_KEY = "customer_note_canary"
WRONG_KIND = "seventeen-canary"
TRUNCATED_TAIL = "truncated-canary-payload"
WATCHTOWER_TEXT = "Processing invoice for Bob Canary"
NOT_JSON = "GET /search?q=canary+secret HTTP/1.1 200"
BIG = "B" * 10 + "".join(uuid.uuid4().hex for _ in range(8000))  # 256 KB of hex


PLANTED = {
    "free-text": (WATCHTOWER_TEXT, {"SA101"}),
    "undeclared-key": (
        json.dumps({"event": "export.finished", "level": "info", UNDECLARED_KEY: "x"}),
        {"SA201"},
    ),
    "wrong-kind": (
        json.dumps({"event": "export.finished", "level": "info", "page_count": WRONG_KIND}),
        {"SA202"},
    ),
    "unknown-event": (json.dumps({"event": "billing.charged", "level": "info"}), {"SA301"}),
    "email-in-id": (
        json.dumps({"event": "export.finished", "level": "info", "request_id": EMAIL}),
        {"SA202", "SA401"},
    ),
    "sentence-event": (json.dumps({"event": SENTENCE + "."}), {"SA301", "SA302"}),
    "truncated": (
        json.dumps({"event": "export.finished", "note": TRUNCATED_TAIL})[:-12],
        {"SA102"},
    ),
    "not-json": (NOT_JSON, {"SA101"}),
    "big-json": (json.dumps({"event": "export.finished", "blob": BIG}), {"SA201", "SA401"}),
    "secret-token": (
        json.dumps({"event": "export.finished", "status": SECRET}),
        {"SA202", "SA401"},
    ),
}


PLANTED_VALUES = [
    EMAIL,
    SECRET,
    SENTENCE,
    UNDECLARED_KEY,
    WRONG_KIND,
    TRUNCATED_TAIL,
    WATCHTOWER_TEXT,
    NOT_JSON,
    "canary",
    BIG[:40],
    "billing.charged",
    "Bob",
]
