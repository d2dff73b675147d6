"""`safelog explain FILE:LINE`: each part of one log call, kept or dropped and why."""

from __future__ import annotations

import textwrap

from pathlib import Path

import pytest

from safelog.__main__ import main


POLICY = """
[tool.safelog]
service = "svc"

[tool.safelog.fields]
page_count = { kind = "int", min = 0 }
"""
SOURCE = """
import logging

import structlog

log = structlog.get_logger()
logger = logging.getLogger(__name__)


def export(page, form):
    log.info("page_exported", page_count=page.count, title=page.title, **form)
    log.info(f"exported {page.title}", page.id)
    logger.warning(
        "slow export for %s",
        page.owner,
        extra={"body": page.body},
    )
    log.exception("export_failed", exc_info=True)
"""


@pytest.fixture
def app(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(POLICY, encoding="utf-8")
    path = tmp_path / "app.py"
    path.write_text(textwrap.dedent(SOURCE), encoding="utf-8")
    return path


def _explain(where: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["explain", where])
    return code, capsys.readouterr().out.splitlines()


class TestExplain:
    def test_declared_undeclared_and_data_keys(
        self, app: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Each keyword is declared (kept if it passes) or undeclared (dropped); ** is unknown."""
        code, lines = _explain(f"{app}:11", capsys)

        assert code == 0
        assert lines == [
            f"{app}:11: a .info(...) call",
            "  event: a string literal: kept",
            (
                "  page_count=: declared: kept if the value passes its kind, else the kind's "
                "marker (reason wrong kind)"
            ),
            "  title=: not declared: dropped (counted in 'dropped', reason undeclared)",
            (
                "  **mapping: its keys are known only at run time; each undeclared key is "
                "dropped (reason undeclared) and shown as <name-from-data> on the dev console"
            ),
        ]

    def test_built_event_and_positional(
        self, app: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An f-string event is named as non-constant; positional arguments are dropped."""
        _, lines = _explain(f"{app}:12", capsys)

        assert lines[1:] == [
            (
                "  event: built at run time (f-string, %, .format or +): the record's event is "
                "<non-constant-event>, reason non-constant event"
            ),
            (
                "  positional argument 1: dropped, never interpolated (counted in 'dropped', "
                "reason positional)"
            ),
        ]

    def test_a_line_inside_a_multi_line_stdlib_call(
        self, app: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Any line of a call finds it; %-arguments are dropped, extra= keys judged as fields."""
        _, lines = _explain(f"{app}:15", capsys)

        assert lines[0] == f"{app}:13: a .warning(...) call"
        assert "positional argument 1: dropped" in lines[2]
        assert lines[3] == (
            "  extra= keys as fields: body=: not declared: dropped (counted in 'dropped', "
            "reason undeclared)"
        )

    def test_no_log_call(self, app: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A line without a log call says so and exits 1."""
        code, lines = _explain(f"{app}:2", capsys)

        assert code == 1
        assert lines == [f"{app}:2: no log call on this line"]

    def test_usage_errors_quote_nothing(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A bad FILE:LINE or an unparsable file is exit 2 with fixed text."""
        bad = tmp_path / "bad.py"
        bad.write_text("def f(:\n    secret-text-here\n", encoding="utf-8")

        assert main(["explain", "no-line-number"]) == 2
        assert main(["explain", f"{bad}:1"]) == 2
        err = capsys.readouterr().err
        assert "give FILE:LINE" in err
        assert "FILE cannot be read or parsed as Python" in err
        assert "secret-text-here" not in err
