"""
Every built-in field kind, with a value that passes and one that does not.

Run it: `python examples/field_kinds.py`. It prints two records: "accepted"
(each field emitted in its safe form) and "rejected" (each field replaced by
its kind's marker, such as "<rejected:int>"), then the names of the kinds.
"""

from __future__ import annotations

import datetime as dt
import enum
import io
import json
import secrets
import sys
import uuid

import safelog


class Plan(enum.Enum):
    FREE = "free"
    TEAM = "team"


FIELDS = {
    "page_count": safelog.Int(min=0, max=10_000, purpose="pages in an export"),
    "ratio": safelog.Float(min=0.0, max=1.0, purpose="share of pages cached"),
    "took": safelog.Duration(unit="ms", purpose="time spent"),
    "cached": safelog.Bool(purpose="served from cache"),
    "outcome": safelog.Enum("ok", "failed", purpose="result"),
    "plan": safelog.Enum(Plan, purpose="the tenant's plan"),
    "request_id": safelog.Id(max_length=36, purpose="correlation id"),
    "order_no": safelog.Id(pattern=r"ord-[0-9]{6}", purpose="internal order number"),
    "job_id": safelog.Uuid(purpose="which job"),
    "tenant": safelog.Hashed(purpose="which customer, pseudonymised"),
    "status": safelog.HttpStatus(purpose="response status"),
    "method": safelog.HttpMethod(purpose="request method"),
    "route": safelog.Route("/pages/{page_id}", purpose="matched route template"),
}

JOB = uuid.UUID("1b4e28ba-2fa1-11d2-883f-0016d3cca427")

ACCEPTED = {
    "page_count": 12,
    "ratio": 0.25,
    "took": dt.timedelta(milliseconds=1500),  # emitted as 1500.0 (ms)
    "cached": True,
    "outcome": "failed",
    "plan": Plan.TEAM,  # emitted as "team"
    "request_id": "req-8f14e45f",
    "order_no": "ord-004711",
    "job_id": JOB.hex,  # emitted in canonical form with dashes
    "tenant": "acme-corp",  # emitted as "<key id>:<26 base32 chars>"
    "status": 404,
    "method": "post",  # emitted as "POST"
    "route": "/pages/{page_id}",
}
REJECTED = {
    "page_count": "12 pages",  # a string is not an int
    "ratio": float("nan"),  # not finite
    "took": -5,  # negative
    "cached": 1,  # truthy is not True
    "outcome": "failed: customer's note",  # not a declared value
    "plan": "enterprise",  # not a member
    "request_id": "zoe@example.com",  # '@' is outside [A-Za-z0-9._:-]
    "order_no": "ord-12",  # fails the pattern
    "job_id": "not-a-uuid",
    "tenant": ["acme-corp"],  # containers never pass
    "status": 700,  # outside 100..599
    "method": "BREW",  # not a standard method
    "route": "/pages/42",  # a raw path, not a declared template
}


def main() -> int:
    sink = io.StringIO()
    safelog.configure(
        service="kinds",
        fields=FIELDS,
        console=sink,
        # A throwaway key for the demo; a service reads its key from a secret store.
        hash_key=secrets.token_hex(32),
    )
    log = safelog.get_logger(__name__)
    log.info("accepted", **ACCEPTED)  # safelog: ignore[SL208] -- a fixed table of examples
    log.info("rejected", **REJECTED)  # safelog: ignore[SL208] -- a fixed table of examples
    safelog.shutdown()

    lines = sink.getvalue().splitlines()
    for line in lines:
        print(line)
    rejected = json.loads(lines[1])
    kinds = sorted(k.kind_name for k in FIELDS.values())
    print("kinds:", ", ".join(dict.fromkeys(kinds)))
    wrong = [name for name, kind in FIELDS.items() if rejected.get(name) != kind.marker]
    print("every bad value replaced by its marker:", "NO: " + ", ".join(wrong) if wrong else "yes")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
