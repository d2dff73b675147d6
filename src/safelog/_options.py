"""
Resolve `safelog.configure`'s options: pure, no global state touched.

Each option comes from, in this order: the explicit argument, its
``SAFELOG_*`` environment variable, ``[tool.safelog]`` in ``pyproject.toml``
(when ``pyproject=`` asks for it), the default. `resolve` validates every
value on the way; a wrong one raises `ConfigurationError` naming the option,
never the value. ``safelog inventory`` uses the same function, so the policy
it describes is exactly the one ``configure`` would apply.
"""

from __future__ import annotations

import base64
import binascii
import os
import re

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any, Literal

from . import _dev, _metrics, _pyproject, _scope
from ._hashkey import HashKey, make_hash_key
from ._hooks import resolve_hooks
from ._levels import NAME_TO_LEVEL
from ._stdio import StdioMode, resolve_mode
from .errors import ConfigurationError
from .policy import FieldPolicy


__all__ = ["ConsoleChoice", "ForeignHandlers", "Options", "in_lambda", "resolve", "resolve_policy"]

ForeignHandlers = Literal["error", "detach"]
#: True (stderr), False (none), "stdout", or a text stream.
ConsoleChoice = bool | str | IO[str]

_NAME = re.compile(r"[A-Za-z0-9._:\-]{1,64}\Z")
_TRUE = frozenset({"1", "true", "yes", "on", "stderr"})
_FALSE = frozenset({"0", "false", "no", "off", "none", ""})
DEFAULT_SHUTDOWN_TIMEOUT = 5.0
_LEVEL_MSG = "level: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"


@dataclass(frozen=True)
class Options:
    """Every option of one `configure` call, resolved and validated."""

    service: str
    environment: str | None
    level: int
    policy: FieldPolicy
    key: HashKey | None
    console: ConsoleChoice
    foreign_handlers: ForeignHandlers
    shutdown_timeout: float
    skip_modules: tuple[str, ...]
    hooks: frozenset[str]
    capture_stdlib: bool
    #: ``configure(stdio=...)``: "guard" or "off".
    stdio: StdioMode = "off"
    #: The development console (``dev=`` or ``SAFELOG_DEV``).
    dev: bool = False
    #: Where the fields came from: a pyproject.toml path, or None (argument).
    fields_source: str | None = None
    #: The CloudWatch namespace of fields declared with ``metric=`` (None: off).
    metrics_namespace: str | None = None
    #: Debug buffering and sampling (see `_scope`); off by default.
    scopes: _scope.ScopeOptions = _scope.OFF


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    return value if value is not None and value.strip() != "" else None


def _level(level: object) -> int:
    if isinstance(level, bool):
        msg = "level: must be a level name such as 'INFO' or a logging level int"
        raise ConfigurationError(msg)
    if isinstance(level, int):
        if level not in NAME_TO_LEVEL.values():
            raise ConfigurationError(_LEVEL_MSG)
        return level
    if isinstance(level, str) and level.strip().upper() in NAME_TO_LEVEL:
        return NAME_TO_LEVEL[level.strip().upper()]
    raise ConfigurationError(_LEVEL_MSG)


def _name(value: object, option: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _NAME.match(value):
        msg = f"{option}: must be 1 to 64 characters from [A-Za-z0-9._:-]"
        raise ConfigurationError(msg)
    return value


def in_lambda(environ: Mapping[str, str]) -> bool:
    """Whether this process runs in AWS Lambda (its runtime's environment says so)."""
    return bool(environ.get("AWS_LAMBDA_FUNCTION_NAME")) and (
        bool(environ.get("AWS_LAMBDA_RUNTIME_API"))
        or environ.get("AWS_EXECUTION_ENV", "").startswith("AWS_Lambda_")
    )


def _console(value: object, from_env: bool) -> ConsoleChoice:
    if isinstance(value, str) and from_env:
        raw = value.strip().lower()
        if raw in _TRUE:
            return True
        if raw == "stdout":
            return "stdout"
        if raw in _FALSE:
            return False
        msg = "SAFELOG_CONSOLE: must be true, false or stdout"
        raise ConfigurationError(msg)
    if value is True or value is False:
        return value
    if value == "stdout":
        return "stdout"
    if not isinstance(value, str) and callable(getattr(value, "write", None)):
        return value  # type: ignore[return-value]
    msg = "console: must be True, False or a text stream"
    raise ConfigurationError(msg)


def _decode_key(raw: str) -> bytes:
    # "base64:..." and "hex:..." let a binary key live in an env var.
    try:
        if raw.startswith("base64:"):
            return base64.b64decode(raw[7:], validate=True)
        if raw.startswith("hex:"):
            return bytes.fromhex(raw[4:])
    except (binascii.Error, ValueError):
        msg = "SAFELOG_HASH_KEY: the base64:/hex: value does not decode"
        raise ConfigurationError(msg) from None
    return raw.encode("utf-8")


def _key(
    hash_key: bytes | str | None, key_id: str | None, environ: Mapping[str, str]
) -> HashKey | None:
    if key_id is None:
        key_id = _env(environ, "SAFELOG_HASH_KEY_ID")
    if hash_key is None:
        raw = _env(environ, "SAFELOG_HASH_KEY")
        if raw is None:
            return None
        return make_hash_key(_decode_key(raw), key_id)
    return make_hash_key(hash_key, key_id)


def resolve_policy(fields: object) -> FieldPolicy:
    """``fields=``: a `FieldPolicy`, a mapping of name to kind, or None (none)."""
    if fields is None:
        return FieldPolicy()
    if isinstance(fields, FieldPolicy):
        return fields
    if not isinstance(fields, Mapping):
        msg = "fields: must be a mapping of field name to safelog kind"
        raise ConfigurationError(msg)
    return FieldPolicy(fields)


def _timeout(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 300:
        msg = "shutdown_timeout: must be a number of seconds from 0 to 300"
        raise ConfigurationError(msg)
    return float(value)


def _first(*values: object) -> Any:
    """The first value that is not None: argument, environment, file, default."""
    for value in values:
        if value is not None:
            return value
    return None


def _file(pyproject: object) -> tuple[Mapping[str, Any], FieldPolicy | None, str | None]:
    if pyproject is False or pyproject is None:
        return {}, None, None
    if pyproject is not True and not isinstance(pyproject, (str, os.PathLike)):
        msg = "pyproject: must be True, False or a path"
        raise ConfigurationError(msg)
    found = _pyproject.load(None if pyproject is True else pyproject)
    if found is None:
        msg = "pyproject: no pyproject.toml with a [tool.safelog] table was found"
        raise ConfigurationError(msg)
    return found.options, found.fields, str(found.path)


def resolve(
    *,
    service: str | None = None,
    fields: object = None,
    console: object = None,
    level: str | int | None = None,
    hash_key: bytes | str | None = None,
    hash_key_id: str | None = None,
    environment: str | None = None,
    capture_stdlib: bool = True,
    foreign_handlers: str | None = None,
    skip_modules: Iterable[str] = (),
    shutdown_timeout: float | None = None,
    pyproject: object = False,
    hooks: object = True,
    stdio: object = None,
    dev: bool | None = None,
    metrics_namespace: str | None = None,
    buffer_level: str | None = None,
    buffer_max_bytes: int | None = None,
    buffer_max_records: int | None = None,
    sampling_rate: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> Options:
    """
    Resolve and validate the options of a `configure` call (argument, then
    environment, then ``[tool.safelog]``, then default) without changing
    anything. *environ* defaults to ``os.environ``.

    One straight sequence, one option after another in the order of
    `Options`: longer than most functions here, but splitting it would only
    scatter the precedence rule each line applies.
    """
    env = os.environ if environ is None else environ
    file_options, file_fields, file_path = _file(pyproject)
    svc = _name(
        _first(service, _env(env, "SAFELOG_SERVICE"), file_options.get("service")), "service"
    )
    if svc is None:
        msg = "service: required (argument or SAFELOG_SERVICE)"
        raise ConfigurationError(msg)
    environment_name = _name(
        _first(environment, _env(env, "SAFELOG_ENVIRONMENT"), file_options.get("environment")),
        "environment",
    )
    lvl = _level(_first(level, _env(env, "SAFELOG_LEVEL"), file_options.get("level"), "INFO"))
    policy = resolve_policy(fields if fields is not None else file_fields)
    key = _key(hash_key, hash_key_id, env)
    if policy.needs_key() and key is None:
        msg = (
            "hash_key: the policy has Hashed fields but no key is configured "
            "(hash_key= or SAFELOG_HASH_KEY)"
        )
        raise ConfigurationError(msg)
    env_console = _env(env, "SAFELOG_CONSOLE")
    if console is not None:
        console_choice = _console(console, from_env=False)
    elif env_console is not None:
        console_choice = _console(env_console, from_env=True)
    else:
        # In AWS Lambda the runtime ships stdout to CloudWatch: one JSON
        # record per line there, by default.
        default_console: object = "stdout" if in_lambda(env) else True
        console_choice = _console(file_options.get("console", default_console), from_env=False)
    # Default: route frameworks' own handlers through the chain (uvicorn,
    # gunicorn, Django, Celery set theirs up before the app can configure).
    foreign = _first(foreign_handlers, file_options.get("foreign_handlers"), "detach")
    if foreign not in ("error", "detach"):
        msg = "foreign_handlers: must be 'error' or 'detach'"
        raise ConfigurationError(msg)
    timeout = _timeout(
        _first(shutdown_timeout, file_options.get("shutdown_timeout"), DEFAULT_SHUTDOWN_TIMEOUT)
    )
    if isinstance(skip_modules, str):
        skip_modules = (skip_modules,)
    skip = tuple(skip_modules)
    if any(type(m) is not str or not m for m in skip):
        msg = "skip_modules: must be module names"
        raise ConfigurationError(msg)
    flag: object = capture_stdlib  # typed bool, but callers may pass anything
    if type(flag) is not bool:
        msg = "capture_stdlib: must be True or False"
        raise ConfigurationError(msg)
    dev_on = _dev_option(dev, env, console_choice)
    return Options(
        service=svc,
        environment=environment_name,
        level=lvl,
        policy=policy,
        key=key,
        console=console_choice,
        foreign_handlers=foreign,
        shutdown_timeout=timeout,
        skip_modules=skip,
        hooks=resolve_hooks(hooks),
        capture_stdlib=capture_stdlib,
        stdio=resolve_mode(_first(stdio, _env(env, "SAFELOG_STDIO"), file_options.get("stdio"))),
        dev=dev_on,
        fields_source=file_path if fields is None and file_fields is not None else None,
        metrics_namespace=_namespace(metrics_namespace, env, file_options, policy),
        scopes=_scopes(
            env,
            file_options,
            buffer_level=buffer_level,
            buffer_max_bytes=buffer_max_bytes,
            buffer_max_records=buffer_max_records,
            sampling_rate=sampling_rate,
        ),
    )


def _namespace(
    value: object, env: Mapping[str, str], file_options: Mapping[str, Any], policy: FieldPolicy
) -> str | None:
    raw = _first(
        value, _env(env, "SAFELOG_METRICS_NAMESPACE"), file_options.get("metrics_namespace")
    )
    if raw is not None:
        return _metrics.check_namespace(raw, "metrics_namespace")
    if policy.metrics():
        msg = (
            "metrics_namespace: required when fields declare metric= (argument, "
            "SAFELOG_METRICS_NAMESPACE or [tool.safelog] metrics_namespace)"
        )
        raise ConfigurationError(msg)
    return None


_SCOPE_VARIABLES = {
    "buffer_level": "SAFELOG_BUFFER_LEVEL",
    "buffer_max_bytes": "SAFELOG_BUFFER_MAX_BYTES",
    "buffer_max_records": "SAFELOG_BUFFER_MAX_RECORDS",
    "sampling_rate": "SAFELOG_SAMPLING_RATE",
}


def _scopes(
    env: Mapping[str, str], file_options: Mapping[str, Any], **args: object
) -> _scope.ScopeOptions:
    def pick(option: str) -> object:
        # Argument, environment, [tool.safelog].
        from_env = _env(env, _SCOPE_VARIABLES[option])
        return _first(args[option], from_env, file_options.get(option))

    return _scope.ScopeOptions(
        buffer_level=_scope.resolve_buffer_level(pick("buffer_level"), "buffer_level"),
        max_bytes=_scope.resolve_bound(
            pick("buffer_max_bytes"), "buffer_max_bytes", _scope.DEFAULT_MAX_BYTES, 64 << 20
        ),
        max_records=_scope.resolve_bound(
            pick("buffer_max_records"), "buffer_max_records", _scope.DEFAULT_MAX_RECORDS, 10**6
        ),
        sampling_rate=_scope.resolve_sampling_rate(pick("sampling_rate"), "sampling_rate"),
    )


def _dev_option(dev: object, env: Mapping[str, str], console: ConsoleChoice) -> bool:
    """``dev=``, else ``SAFELOG_DEV``; refused where logs ship (see `_dev.refusal`)."""
    if dev is not None and type(dev) is not bool:
        msg = "dev: must be True, False or None (None: SAFELOG_DEV decides)"
        raise ConfigurationError(msg)
    if dev is None:
        try:
            dev = _dev.dev_from_env(env)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
    if not dev:
        return False
    reason = _dev.refusal(cloudwatch=False, environ=env)
    if reason is not None:
        raise ConfigurationError(reason)
    if console is False:
        msg = "dev: the development console needs a console; remove console=False or dev=True"
        raise ConfigurationError(msg)
    return True
