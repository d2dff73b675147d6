"""
Error records: what safelog writes when something fails.

Customer content is planted in an exception's message, args, cause and
attributes, in a pydantic input and in a warning; the records
carry types, frames, fingerprints and declared fields only. A callback that
fails on an asyncio loop is recorded the same way.
Run it: `python examples/errors_demo.py`.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import warnings

import pydantic

import safelog


class ExportFailed(safelog.SafeError):
    """An export failed; its fields are metadata, checked by their kinds."""

    fields = {  # noqa: RUF012 -- frozen when the class is created
        "stage": safelog.Enum("render", "upload"),
        "attempt": safelog.Int(min=0),
    }


class Page(pydantic.BaseModel):
    title: str
    word_count: int


TITLE = "Board minutes: layoffs in Q3"  # customer content, planted


def render(page: dict[str, str]) -> None:
    words = page["body"]  # a KeyError naming nothing but a literal
    del words


def export(page: dict[str, str], attempt: int) -> None:
    try:
        render(page)
    except KeyError as e:
        e.page_title = page["title"]  # type: ignore[attr-defined]  # an attribute holding data
        raise ExportFailed(stage="render", attempt=attempt) from e


def notify(title: str) -> None:
    raise ValueError(title)  # the message holds customer content


async def serve() -> None:
    safelog.install_asyncio_handler()  # the running loop; once per loop
    asyncio.get_running_loop().call_soon(notify, TITLE)  # fails in a callback
    await asyncio.sleep(0.01)


def main() -> int:
    sink = io.StringIO()
    safelog.configure(service="errors-demo", console=sink)
    log = safelog.get_logger(__name__)

    try:
        export({"title": TITLE}, attempt=2)
    except ExportFailed:
        log.exception("export_failed")  # type, frames, fingerprint, fields, cause

    try:
        Page(title=TITLE, word_count=TITLE)  # type: ignore[arg-type]
    except pydantic.ValidationError:
        logging.getLogger(__name__).exception("invalid_page")  # model, error types, locs

    warnings.warn(f"slow render of {TITLE}", UserWarning, stacklevel=1)  # text dropped

    asyncio.run(serve())

    safelog.shutdown()
    lines = sink.getvalue().splitlines()
    for line in lines:
        print(json.dumps(json.loads(line), indent=2))
    leaked = any(part in line for line in lines for part in ("Board minutes", "layoffs"))
    print("planted customer content in the logs:", "FOUND" if leaked else "none")
    return 1 if leaked else 0


if __name__ == "__main__":
    raise SystemExit(main())
