"""
safelog: logs that carry metadata only, by construction.

Configure once at startup with `configure`; then `get_logger` (structlog)
and every stdlib `logging` logger go through one sanitizing chain before any
sink. Only declared fields of declared kinds leave the process.
"""

from __future__ import annotations

from ._config import configure, get_logger, is_configured, self_check, shutdown, stats
from ._hooks import install_asyncio_handler
from ._scope import buffered
from .cloudwatch import CloudWatch
from .policy import (
    Bool,
    ConfigurationError,
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


__version__ = "0.1.0"

__all__ = [
    "Bool",
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
    "Route",
    "SafeError",
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
