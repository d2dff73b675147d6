"""
`CloudWatch`, the configuration object ``safelog.configure(cloudwatch=...)``
takes. It is checked when it is built (a wrong option is a
`ConfigurationError` naming the option) and does no network I/O, ever:
``configure`` calls `CloudWatch.create_sink`, which checks that a region
can be resolved (botocore reads it from the environment and config files)
and starts nothing but a bounded in-memory queue. The log group and stream
are created on the first send, by the sink's shipper thread, through boto3.
"""

from __future__ import annotations

import re
import string

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from safelog.policy import ConfigurationError


if TYPE_CHECKING:
    from ._sink import CloudWatchSink


__all__ = ["RETENTION_DAYS", "CloudWatch"]

#: The values CloudWatch Logs accepts for ``PutRetentionPolicy``.
RETENTION_DAYS: frozenset[int] = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
     2922, 3288, 3653}
)  # fmt: skip

_LOG_GROUP = re.compile(r"[.\-_/#A-Za-z0-9]{1,512}\Z")
_STREAM_FIELDS = frozenset({"service", "hostname", "pid", "environment"})
_ENDPOINT = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?\Z")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}\Z")


def _positive_int(value: object, option: str, upper: int) -> int:
    if type(value) is not int or not 0 < value <= upper:
        msg = f"{option}: must be an integer from 1 to {upper}"
        raise ConfigurationError(msg)
    return value


def _positive_float(value: object, option: str, upper: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= upper:
        msg = f"{option}: must be a number of seconds above 0 and at most {upper:g}"
        raise ConfigurationError(msg)
    return float(value)


def _bool(value: object, option: str) -> bool:
    if type(value) is not bool:
        msg = f"{option}: must be True or False"
        raise ConfigurationError(msg)
    return value


def _check_stream_template(template: object) -> str:
    if type(template) is not str or not template:
        msg = "stream: must be a non-empty template string"
        raise ConfigurationError(msg)
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:
        msg = "stream: not a valid template (unbalanced braces)"
        raise ConfigurationError(msg) from None
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in _STREAM_FIELDS or spec or conversion:
            msg = "stream: placeholders may only be {service}, {hostname}, {pid}, {environment}"
            raise ConfigurationError(msg)
    if ":" in template or "*" in template:
        msg = "stream: CloudWatch stream names cannot contain ':' or '*'"
        raise ConfigurationError(msg)
    return template


class CloudWatch:
    """
    Where and how to ship to CloudWatch Logs.

    Args:
        log_group: the log group; created on the first send if missing.
        stream: the stream name template; ``{service}``, ``{hostname}``,
            ``{pid}`` and ``{environment}`` are filled in per process (a
            forked child gets its own stream).
        retention_days: applied once per process to the group (needs
            ``logs:PutRetentionPolicy``); ``None`` leaves it as it is.
        client: a boto3 ``logs`` client, or a zero-argument callable that
            returns one (preferred under ``fork``: each process calls it).
            By default one is made with the standard credential chain.
        endpoint_url: for tests and local stacks (with the default client).
        region: the AWS region (with the default client).
        max_queue_events: the most records held in memory for shipping.
        max_queue_bytes: the most UTF-8 bytes held in memory for shipping.
            Records beyond either cap are dropped, counted and reported.
        send_interval: the longest a record waits for its batch to fill.
        handle_sigterm: flush on SIGTERM when the service has no SIGTERM
            handler of its own (then die by SIGTERM as before).
    """

    __slots__ = (
        "client",
        "endpoint_url",
        "handle_sigterm",
        "log_group",
        "max_queue_bytes",
        "max_queue_events",
        "region",
        "retention_days",
        "send_interval",
        "stream",
    )

    def __init__(
        self,
        log_group: str,
        *,
        stream: str = "{service}/{hostname}/{pid}",
        retention_days: int | None = None,
        client: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        max_queue_events: int = 100_000,
        max_queue_bytes: int = 64 * 1024 * 1024,
        send_interval: float = 1.0,
        handle_sigterm: bool = True,
    ) -> None:
        if type(log_group) is not str or not _LOG_GROUP.match(log_group):
            msg = "log_group: must be 1 to 512 characters from [A-Za-z0-9._/#-]"
            raise ConfigurationError(msg)
        if log_group.lower().startswith("aws/"):
            # CloudWatch refuses to create these (CreateLogGroup fails): say so
            # at startup, not as a loss count at exit.
            msg = (
                "log_group: names starting with 'aws/' are reserved for AWS services; "
                "use a prefix of your own, e.g. '/my-service/production'"
            )
            raise ConfigurationError(msg)
        self.log_group = log_group
        self.stream = _check_stream_template(stream)
        if retention_days is not None and (
            type(retention_days) is not int or retention_days not in RETENTION_DAYS
        ):
            msg = "retention_days: must be None or a value CloudWatch accepts (1, 3, 7, 30, ...)"
            raise ConfigurationError(msg)
        self.retention_days = retention_days
        if client is not None and (endpoint_url is not None or region is not None):
            msg = "client: pass either client or endpoint_url/region, not both"
            raise ConfigurationError(msg)
        if client is not None and not (
            callable(getattr(client, "put_log_events", None)) or callable(client)
        ):
            msg = "client: must be a boto3 'logs' client or a callable returning one"
            raise ConfigurationError(msg)
        self.client: Any = client
        if endpoint_url is not None and (
            type(endpoint_url) is not str or not _ENDPOINT.match(endpoint_url)
        ):
            msg = "endpoint_url: must be an http(s) URL with no query string"
            raise ConfigurationError(msg)
        self.endpoint_url = endpoint_url
        if region is not None and (type(region) is not str or not _REGION.match(region)):
            msg = "region: must be an AWS region name such as 'us-east-1'"
            raise ConfigurationError(msg)
        self.region = region
        self.max_queue_events = _positive_int(max_queue_events, "max_queue_events", 10_000_000)
        self.max_queue_bytes = _positive_int(max_queue_bytes, "max_queue_bytes", 2**34)
        self.send_interval = _positive_float(send_interval, "send_interval", 300.0)
        self.handle_sigterm = _bool(handle_sigterm, "handle_sigterm")

    def create_sink(
        self, metadata: Mapping[str, Any], *, report: Callable[[str], None] | None = None
    ) -> CloudWatchSink:
        """
        The sink `safelog.configure` adds; no network I/O happens here.
        *report* hands safelog's own records about shipping (losses,
        failures) to the other sinks; without it they go to stderr.

        Raises `ConfigurationError` when the default client would have no
        region: shipping could never work, and failing here names the fix.
        """
        if self.client is None and self.region is None:
            from ._transport import resolve_region

            if resolve_region() is None:
                msg = (
                    "region: no AWS region found; pass CloudWatch(region=...), or set "
                    "AWS_DEFAULT_REGION or a region in the AWS config file"
                )
                raise ConfigurationError(msg)
        from ._process import register
        from ._sink import CloudWatchSink

        sink = CloudWatchSink(self, metadata, report=report)
        register(sink)
        return sink

    def make_client(self) -> Any:
        """
        A boto3 ``logs`` client for one process (called by the shipper
        thread, never by `configure`).
        """
        if self.client is not None:
            if callable(getattr(self.client, "put_log_events", None)):
                return self.client
            factory: Callable[[], Any] = self.client
            return factory()
        from ._transport import default_client

        return default_client(self.region, self.endpoint_url)

    def __repr__(self) -> str:
        return f"CloudWatch(log_group={self.log_group!r})"
