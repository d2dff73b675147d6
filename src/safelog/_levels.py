"""
The one table of log levels: names safelog understands, their numbers, and
the name a record carries.

Every module that needs a level (the bound logger's methods, `configure`'s
``level=``, the stdlib bridge, the crash hooks) reads it from here.
"""

from __future__ import annotations

import logging


__all__ = ["LEVELS", "METHOD_TO_LEVEL", "NAME_TO_LEVEL", "RECORD_LEVELS", "level_name"]

#: The five record levels, low to high: (number, name as emitted).
LEVELS: tuple[tuple[int, str], ...] = (
    (logging.DEBUG, "debug"),
    (logging.INFO, "info"),
    (logging.WARNING, "warning"),
    (logging.ERROR, "error"),
    (logging.CRITICAL, "critical"),
)

#: The ``level`` values a record can carry.
RECORD_LEVELS = frozenset(name for _, name in LEVELS)

#: Level names accepted in ``configure(level=...)`` and ``log(level, ...)``, upper case.
NAME_TO_LEVEL = {
    **{name.upper(): number for number, name in LEVELS},
    "WARN": logging.WARNING,
    "FATAL": logging.CRITICAL,
}

#: A bound logger's method (or stdlib's level name, lower case) -> the level it logs at.
METHOD_TO_LEVEL = {
    **{name: name for _, name in LEVELS},
    "msg": "info",
    "warn": "warning",
    "exception": "error",
    "fatal": "critical",
}


def level_name(level: int) -> str:
    """The record level for a level number (between two, the higher)."""
    for number, name in LEVELS:
        if level <= number:
            return name
    return "critical"
