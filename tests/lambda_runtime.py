"""
Invoke a handler the way AWS Lambda's Python runtime (awslambdaric's
bootstrap) does, for tests: the runtime's environment, a module imported
once (the cold start), a Lambda-shaped context per invocation, and for an
escaping exception the runtime's own report on stdout (``[ERROR] Type:
message`` and the traceback, lines joined by CR) and its error response.

Usage: python lambda_runtime.py MODULE.FUNCTION EVENTS_JSON_FILE
Each invocation's response (or error response) goes to stderr as
``RESPONSE <json>``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid

from pathlib import Path
from typing import Any


class LambdaContext:
    """The attributes and method of awslambdaric's LambdaContext."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        )
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)


def _fault(exc: BaseException) -> dict[str, Any]:
    tb = traceback.extract_tb(exc.__traceback__)
    tb = [f for f in tb if not f.filename.endswith("lambda_runtime.py")] or tb
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_list(tb),
    }


def _log_error(result: dict[str, Any]) -> None:
    description = "[ERROR] " + result["errorType"]
    if result["errorMessage"]:
        description += ": " + result["errorMessage"]
    lines = [description, "Traceback (most recent call last):"]
    for element in result["stackTrace"]:
        lines += element.splitlines()
    sys.stdout.write("\r".join(lines) + "\n")
    sys.stdout.flush()


def main() -> int:
    target, events_file = sys.argv[1], sys.argv[2]
    module_name, _, function = target.rpartition(".")
    handler = getattr(importlib.import_module(module_name), function)
    invocations = json.loads(Path(events_file).read_text(encoding="utf-8"))
    for inv in invocations:
        request_id = str(uuid.uuid4())
        os.environ["_X_AMZN_TRACE_ID"] = inv.get("trace", "")
        context = LambdaContext(request_id, int(time.time() * 1000) + 3000)
        try:
            response = handler(inv["event"], context)
        except Exception as exc:  # the runtime reports whatever escapes
            result = _fault(exc)
            _log_error(result)
            result["requestId"] = request_id
            sys.stderr.write("RESPONSE " + json.dumps({"error": result}) + "\n")
        else:
            sys.stderr.write(
                "RESPONSE " + json.dumps({"ok": response, "requestId": request_id}) + "\n"
            )
        sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
