"""
The errors safelog raises on purpose.

Only `configure` (and the tools: ``safelog check``, ``safelog inventory``)
raise; a log call never does. Every message is safelog-authored, constant
text that names the option and says what to do -- never a value, which
could be customer content.
"""

from __future__ import annotations


__all__ = ["ConfigurationError"]


class ConfigurationError(ValueError):
    """
    A policy or option given to `safelog.configure` is wrong.

    Messages name the option, never a value that could be customer content.
    """
