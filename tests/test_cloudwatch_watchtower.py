"""
A service's own watchtower handler kept behind safelog's chain: only
sanitized lines reach it, checked in what moto stored.
"""

from __future__ import annotations

import json
import logging
import os
import uuid

from collections.abc import Iterator
from typing import Any

import pytest

import safelog

from safelog._embedded import EmbeddedMoto
from safelog.cloudwatch import Watchtower, WatchtowerSink, adopt_watchtower_handlers


CANARY = "CANARY-2c9d-customer-document-title"


@pytest.fixture
def moto_env(safelog_moto: EmbeddedMoto, monkeypatch: pytest.MonkeyPatch) -> EmbeddedMoto:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return safelog_moto.start()


def _client(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session().client("logs", region_name="us-east-1", endpoint_url=endpoint)


def _stored(endpoint: str, group: str) -> list[str]:
    page = _client(endpoint).filter_log_events(logGroupName=group)
    return [e["message"] for e in page["events"]]


@pytest.fixture
def handler(moto_env: EmbeddedMoto) -> Iterator[Any]:
    """A watchtower handler the service configured itself, on its app logger."""
    import watchtower

    group = f"/test/wt-{uuid.uuid4().hex[:8]}"
    h = watchtower.CloudWatchLogHandler(
        log_group_name=group, boto3_client=_client(moto_env.endpoint_url), send_interval=1
    )
    h.group = group  # type: ignore[attr-defined]
    app = logging.getLogger("app")
    app.addHandler(h)
    yield h
    app.removeHandler(h)
    h.close()


class TestWatchtowerSink:
    def test_only_sanitized_lines_reach_watchtower(
        self, handler: Any, moto_env: EmbeddedMoto
    ) -> None:
        """Adopted, the service's watchtower handler stores safelog's lines, never raw records."""
        (sink,) = adopt_watchtower_handlers()
        assert sink.handler is handler
        assert handler not in logging.getLogger("app").handlers
        safelog.configure(service="svc", console=False, cloudwatch=Watchtower(handler))
        logging.getLogger("app").warning("export of %s failed", CANARY)
        safelog.get_logger("app").error("export.failed", title=CANARY)
        safelog.shutdown()
        stored = _stored(moto_env.endpoint_url, handler.group)
        assert len(stored) == 2
        assert not any(CANARY in m for m in stored), "a canary reached watchtower"
        records = [json.loads(m) for m in stored]
        assert {r["event"] for r in records} == {"export of %s failed", "export.failed"}
        assert all(r["service"] == "svc" for r in records)

    def test_the_level_of_the_line_is_kept(self, handler: Any) -> None:
        """watchtower's record carries the level safelog rendered (for its formatters)."""
        seen: list[int] = []
        handler.addFilter(lambda record: seen.append(record.levelno) or True)
        sink = WatchtowerSink(handler)
        sink.write('{"level":"error","event":"x"}')
        sink.write("not json")
        assert seen == [logging.ERROR, logging.INFO]
        assert sink.stats() == {"watchtower_written": 2, "watchtower_errors": 0}

    def test_anything_else_is_a_configuration_error(self) -> None:
        """Only a watchtower handler is accepted, with a message naming the argument."""
        with pytest.raises(safelog.ConfigurationError, match=r"^handler: "):
            WatchtowerSink(logging.StreamHandler())

    def test_no_watchtower_imported_means_nothing_to_adopt(self) -> None:
        """Without watchtower loaded, adopting imports nothing and finds nothing."""
        import subprocess
        import sys

        code = (
            "import sys, safelog.cloudwatch as c; print(c.adopt_watchtower_handlers(),"
            " 'watchtower' in sys.modules)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            env={**os.environ},
        )
        assert out.stdout.strip() == "[] False"
