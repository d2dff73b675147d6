"""
The ``safelog`` command line: ``safelog <command> ...`` or ``python -m safelog``.

Each command is one function that adds its subparser and sets ``run`` to a
callable taking the parsed arguments and returning the exit code. To add a
command, write such a function and append it to `COMMANDS`; import anything
heavy inside ``run``, so ``safelog --help`` stays fast.

Exit codes: 0 success (no findings), 1 findings, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys

from collections.abc import Callable, Sequence
from typing import Any


__all__ = ["COMMANDS", "main"]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

Subparsers = Any  # argparse's _SubParsersAction is private and generic.


def _add_check(sub: Subparsers) -> None:
    p = sub.add_parser(
        "check",
        help="find log calls that could put customer content in logs",
        description=(
            "Statically check log calls (structlog, safelog, stdlib logging) for "
            "non-constant events, known leak shapes and undeclared fields. No code "
            "is executed. Codes and examples: docs/check.md."
        ),
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or directories to check")
    p.add_argument(
        "--format",
        choices=("text", "json", "github", "sarif"),
        default="text",
        help="output format (default: text)",
    )
    p.add_argument(
        "--pyproject",
        metavar="PATH",
        default=None,
        help=(
            "pyproject.toml whose [tool.safelog.fields] is the policy for every file "
            "(default: the nearest pyproject.toml above each file)"
        ),
    )
    p.add_argument(
        "--no-ignore",
        action="store_true",
        help="report findings on lines and files with '# safelog: ignore' comments too",
    )
    p.set_defaults(run=_run_check)


def _run_check(args: argparse.Namespace) -> int:
    from .check import FORMATTERS, check_paths
    from .policy import ConfigurationError

    try:
        report = check_paths(
            args.paths, pyproject=args.pyproject, honour_ignores=not args.no_ignore
        )
    except FileNotFoundError:
        # Fixed text: errors from this command never carry input back out.
        sys.stderr.write("safelog check: error: a PATH does not exist\n")
        return EXIT_USAGE
    except (LookupError, ConfigurationError) as exc:
        sys.stderr.write(f"safelog check: error: {exc}\n")
        return EXIT_USAGE
    sys.stdout.write(FORMATTERS[args.format](report))
    return EXIT_FINDINGS if report.failed else EXIT_OK


def _add_inventory(sub: Subparsers) -> None:
    from ._inventory import add_arguments, run

    p = sub.add_parser(
        "inventory",
        help="print everything the logs can contain (Markdown or JSON)",
        description=(
            "Print the field policy (every field, its kind, constraints and purpose) "
            "and the built-in metadata every record carries, from [tool.safelog] in "
            "pyproject.toml or from a module that calls safelog.configure. "
            "See docs/inventory.md."
        ),
    )
    add_arguments(p)
    p.set_defaults(run=run)


def _add_explain(sub: Subparsers) -> None:
    from ._explain import add_arguments, run

    p = sub.add_parser(
        "explain",
        help="say what happens to each part of the log call at FILE:LINE",
        description=(
            "Explain one log call against the field policy: which keyword arguments "
            "are kept, which are dropped and why (undeclared, positional, non-constant "
            "event). Static: the file is parsed, never run. See docs/dev-console.md."
        ),
    )
    add_arguments(p)
    p.set_defaults(run=run)


def _add_audit(sub: Subparsers) -> None:
    p = sub.add_parser(
        "audit",
        help="prove on what CloudWatch stored that the logs are metadata only",
        description=(
            "Check every record stored in a CloudWatch Logs group within a window against "
            "the field policy (and, with --source, the code's event names). Findings name "
            "stream, time and rule, never a stored value. Exit 0 conforming, 1 findings, "
            "2 could not run. See docs/audit.md."
        ),
    )
    # The audit's own module imports no boto3 until it runs.
    from .audit._cli import add_arguments, run

    add_arguments(p)
    p.set_defaults(run=run)


#: One function per subcommand; each adds its parser and sets ``run``.
COMMANDS: list[Callable[[Subparsers], None]] = [
    _add_check,
    _add_inventory,
    _add_audit,
    _add_explain,
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="safelog", description="safelog: logs that carry metadata only."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse exits 2 on usage errors and 0 for --help.
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
