"""
Fenced code blocks of the docs and README, and the markers that say how the
docs tests treat them (documented in CONTRIBUTING: "Docs examples").

Every ```python block runs: the blocks of one page run in order, in one fresh
interpreter, in an empty temporary directory, as a reader following the page
would run them. An HTML comment on the line directly above a fence (invisible
on the site and on a code host) changes that:

- ``<!-- docs-test: file NAME -->``: the block (any language) is written to
  NAME in the run directory before the page's code runs, and not run itself
  (a ``pyproject.toml`` the code reads, a module it imports).
- ``<!-- docs-test: check CODES -->``: a ``safelog check`` example; the block
  is checked statically and must give exactly CODES (comma-separated rule
  codes, or ``clean``).
- ``<!-- docs-test: skip -- REASON -->``: not run, for the few blocks that
  cannot be (syntax outlines); the reason is required.
- ``<!-- docs-test: new-process -->``: this block and the ones after it run
  in a fresh interpreter (a page that shows separate programs).
- ``<!-- docs-test: setup -->``: runs where it stands and again at the start
  of every later fresh interpreter (names a page's examples share).
"""

from __future__ import annotations

import re
import textwrap

from dataclasses import dataclass
from pathlib import Path


FENCE = re.compile(
    r"^(?P<indent> *)```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.DOTALL | re.MULTILINE,
)
MARKER = re.compile(r"^ *<!-- docs-test: (?P<verb>[\w-]+)(?P<arg>.*?) -->[ \t]*$")
VERBS = frozenset({"file", "check", "skip", "new-process", "setup"})
RUNNABLE = frozenset({"python", "py"})


@dataclass(frozen=True)
class Block:
    path: Path
    lang: str
    #: 1-based line number of the block's first code line in the page.
    line: int
    code: str
    verb: str | None
    arg: str

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of *path*, with the marker above each (if any)."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []
    for m in FENCE.finditer(text):
        fence_line = text.count("\n", 0, m.start())  # 0-based
        above = lines[fence_line - 1] if fence_line else ""
        marker = MARKER.match(above)
        verb, arg = (marker["verb"], marker["arg"].strip()) if marker else (None, "")
        indent = len(m["indent"])
        code = textwrap.dedent(m["body"]) if indent else m["body"]
        found.append(Block(path, m["lang"], fence_line + 2, code, verb, arg))
    return found


def markers(path: Path) -> list[tuple[int, str]]:
    """Every docs-test marker in *path*: (1-based line, verb)."""
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if "docs-test:" in line:
            m = MARKER.match(line)
            out.append((i, m["verb"] if m else "<malformed>"))
    return out


def scripts(page: list[Block]) -> list[str]:
    """
    The page's runnable blocks as scripts, one per process. Each block keeps
    its line number in the page, so a traceback points at the docs line.
    """
    runs: list[list[Block]] = [[]]
    setup: list[Block] = []
    for block in page:
        if block.lang not in RUNNABLE or block.verb not in (None, "new-process", "setup"):
            continue
        if block.verb == "new-process" and any(b not in setup for b in runs[-1]):
            runs.append(list(setup))
        if block.verb == "setup":
            setup.append(block)
        runs[-1].append(block)
    out = []
    for run in runs:
        lines: list[str] = []
        for block in run:
            lines += [""] * (block.line - 1 - len(lines))
            lines += block.code.splitlines()
        out.append("\n".join(lines) + "\n")
    return [code for code, run in zip(out, runs, strict=True) if run]
