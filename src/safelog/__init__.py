"""
safelog: logs that carry metadata only, by construction.

Configure once at startup with `configure`; then `get_logger` (structlog)
and every stdlib `logging` logger go through one sanitizing chain before any
sink. Only declared fields of declared kinds leave the process.

``import safelog`` is light and its global side effects are these, each
documented in ``docs/index.md`` ("What importing safelog changes"):
``logging.lastResort`` and Python's default crash and warning hooks are
replaced by safe ones (only where Python's own defaults are still in place),
structlog gets safelog's defaults once it is imported (unless the service
configured it), and one atexit callback and ``os.register_at_fork`` hooks
are registered. The runtime (policy, chain, structlog) loads on first use of
a name below, lazily (PEP 562), so ``import safelog.check`` stays fast.
"""

from __future__ import annotations

import importlib

from typing import TYPE_CHECKING, Any

from . import _fallback, _lifecycle
from .errors import ConfigurationError


_fallback.install()

__version__ = "0.1.0"

#: Public name -> the module that defines it, imported on first access.
_LAZY = {
    "BoundLogger": "._logger",
    "Problem": "._health",
    "configure": "._config",
    "get_logger": "._logger",
    "is_configured": "._config",
    "self_check": "._health",
    "shutdown": "._config",
    "stats": "._health",
    "install_asyncio_handler": "._hooks",
    "buffered": "._scope",
    "Sink": "._sinks",
    "CloudWatch": ".cloudwatch",
    "SafeError": ".tracebacks",
    **dict.fromkeys(
        (
            "Bool",
            "Duration",
            "Enum",
            "FieldPolicy",
            "Float",
            "Hashed",
            "HttpMethod",
            "HttpStatus",
            "Id",
            "Int",
            "Kind",
            "Route",
            "Uuid",
        ),
        ".policy",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'safelog' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


if TYPE_CHECKING:
    from ._config import configure, is_configured, shutdown
    from ._health import Problem, self_check, stats
    from ._hooks import install_asyncio_handler
    from ._logger import BoundLogger, get_logger
    from ._scope import buffered
    from ._sinks import Sink
    from .cloudwatch import CloudWatch
    from .policy import (
        Bool,
        Duration,
        Enum,
        FieldPolicy,
        Float,
        Hashed,
        HttpMethod,
        HttpStatus,
        Id,
        Int,
        Kind,
        Route,
        Uuid,
    )
    from .tracebacks import SafeError

__all__ = [
    "Bool",
    "BoundLogger",
    "CloudWatch",
    "ConfigurationError",
    "Duration",
    "Enum",
    "FieldPolicy",
    "Float",
    "Hashed",
    "HttpMethod",
    "HttpStatus",
    "Id",
    "Int",
    "Kind",
    "Problem",
    "Route",
    "SafeError",
    "Sink",
    "Uuid",
    "__version__",
    "buffered",
    "configure",
    "get_logger",
    "install_asyncio_handler",
    "is_configured",
    "self_check",
    "shutdown",
    "stats",
]

del _lifecycle  # imported for its registrations only
