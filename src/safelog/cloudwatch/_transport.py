"""
The boto3 side of shipping: the calls to CloudWatch Logs (boto3 client
methods, nothing private of watchtower's), the default client, region
resolution, and the classification of errors by type and code. Error
*messages* are never read: they can echo values.

boto3 and botocore are imported only when a client is made, by the shipper
thread (or by `resolve_region` inside ``configure``), never by
``import safelog``.
"""

from __future__ import annotations

import contextlib
import enum
import re

from collections.abc import Mapping
from typing import Any, NamedTuple


__all__ = [
    "Action",
    "Failure",
    "Reason",
    "Transport",
    "classify",
    "default_client",
    "fresh_connections",
    "import_sdk",
    "resolve_region",
]


class Action(enum.Enum):
    """What the shipper does after an answer."""

    OK = "ok"
    RETRY = "retry"
    MISSING = "missing"  # group or stream missing: create, then send again
    INVALID = "invalid"  # CloudWatch will never take this batch: count it


class Reason(enum.Enum):
    """Why a call failed; one counter each (``cloudwatch_failed_<value>``)."""

    THROTTLED = "throttled"
    SERVER = "server_error"
    ENDPOINT = "endpoint"
    TIMEOUT = "timeout"
    CREDENTIALS = "credentials"
    ACCESS_DENIED = "access_denied"
    REGION = "region"
    MISSING = "missing"
    INVALID = "invalid"
    OTHER = "other"


#: Reasons an operator must act on (or an outage): reported at once, as one
#: ``safelog.cloudwatch.failing`` record, and listed by ``problems()``.
LOUD = frozenset(
    {Reason.ENDPOINT, Reason.CREDENTIALS, Reason.ACCESS_DENIED, Reason.REGION, Reason.OTHER}
)


class Failure(NamedTuple):
    """A classified error: names of code only, never its message."""

    action: Action
    reason: Reason
    #: The SDK error class (``NoCredentialsError``, ``ClientError``...).
    error: str
    #: The AWS error code when it is a known one, else "".
    code: str
    #: The request may have reached CloudWatch (read timeout, connection
    #: closed mid-response): sending it again may store it twice.
    maybe_sent: bool = False


_THROTTLING = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "LimitExceededException",
    }
)
_SERVER = frozenset(
    {
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
        "OperationAbortedException",
    }
)
_CREDENTIALS = frozenset(
    {
        "ExpiredTokenException",
        "ExpiredToken",
        "RequestExpired",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "InvalidAccessKeyId",
    }
)
_DENIED = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})
_INVALID = frozenset({"InvalidParameterException", "ValidationException"})
_OTHER_CODES = frozenset(
    {"ResourceNotFoundException", "DataAlreadyAcceptedException", "InvalidSequenceTokenException"}
)
#: Only codes from these tables are ever named: a code is text from the
#: network, and a wrong endpoint can answer anything.
_KNOWN_CODES = _THROTTLING | _SERVER | _CREDENTIALS | _DENIED | _INVALID | _OTHER_CODES

# botocore's exception classes, by name (no botocore import needed).
_SDK_REASONS = (
    (frozenset({"NoRegionError", "InvalidRegionError"}), Reason.REGION),
    (
        frozenset(
            {
                "NoCredentialsError",
                "PartialCredentialsError",
                "CredentialRetrievalError",
                "TokenRetrievalError",
                "UnauthorizedSSOTokenError",
                "SSOTokenLoadError",
            }
        ),
        Reason.CREDENTIALS,
    ),
    (frozenset({"ReadTimeoutError"}), Reason.TIMEOUT),
    (
        frozenset(
            {
                "EndpointConnectionError",
                "ConnectTimeoutError",
                "ConnectionClosedError",
                "ProxyConnectionError",
                "SSLError",
                "HTTPClientError",
                "ConnectionError",
                "UnknownEndpointError",
                "ResponseParserError",
            }
        ),
        Reason.ENDPOINT,
    ),
)
# The request was sent, the answer lost: CloudWatch may have stored it.
_MAYBE_SENT = frozenset({"ReadTimeoutError", "ConnectionClosedError", "ConnectionResetError"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}\Z")


def _error_name(exc: BaseException) -> str:
    name = type(exc).__name__
    return name if _NAME.match(name) else "<unnamed-error>"


def classify(exc: BaseException) -> Failure:
    """What to do after *exc*, and why; reads types and codes, never messages."""
    name = _error_name(exc)
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        return _classify_response(response, name)
    mro = {cls.__name__ for cls in type(exc).__mro__}
    maybe_sent = bool(mro & _MAYBE_SENT)
    for names, reason in _SDK_REASONS:
        if mro & names:
            return Failure(Action.RETRY, reason, name, "", maybe_sent)
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return Failure(Action.RETRY, Reason.ENDPOINT, name, "", maybe_sent)
    return Failure(Action.RETRY, Reason.OTHER, name, "")


def _classify_response(response: Mapping[str, Any], name: str) -> Failure:
    error = response.get("Error")
    raw = error.get("Code") if isinstance(error, Mapping) else None
    code = raw if type(raw) is str and raw in _KNOWN_CODES else ""
    meta = response.get("ResponseMetadata")
    status = meta.get("HTTPStatusCode") if isinstance(meta, Mapping) else None
    status = status if type(status) is int else 0
    if code == "ResourceNotFoundException":
        return Failure(Action.MISSING, Reason.MISSING, name, code)
    if code == "DataAlreadyAcceptedException":
        return Failure(Action.OK, Reason.OTHER, name, code)
    if code in _INVALID:
        return Failure(Action.INVALID, Reason.INVALID, name, code)
    if code in _THROTTLING or status == 429:
        return Failure(Action.RETRY, Reason.THROTTLED, name, code)
    if code in _SERVER or status >= 500:
        return Failure(Action.RETRY, Reason.SERVER, name, code)
    if code in _CREDENTIALS:
        return Failure(Action.RETRY, Reason.CREDENTIALS, name, code)
    if code in _DENIED or status == 403:
        return Failure(Action.RETRY, Reason.ACCESS_DENIED, name, code)
    if not code and status in (301, 302, 307, 400, 404, 405):
        # Not a CloudWatch answer: the endpoint is something else.
        return Failure(Action.RETRY, Reason.ENDPOINT, name, code)
    # Kept and retried with backoff: fixing the cause resumes delivery.
    return Failure(Action.RETRY, Reason.OTHER, name, code)


class Transport:
    """
    One stream's calls to CloudWatch Logs through a boto3 ``logs`` client.
    Makes no call when built; `operation` names the call last attempted
    (for failure records).
    """

    def __init__(self, client: Any, group: str, stream: str, retention: int | None) -> None:
        self.client = client
        self.group = group
        self.stream = stream
        self.retention = retention
        self.retention_applied = retention is None
        self.operation = "PutLogEvents"

    def put(self, events: list[dict[str, Any]]) -> Any:
        """PutLogEvents (no sequenceToken: CloudWatch ignores it since 2023)."""
        self.operation = "PutLogEvents"
        return self.client.put_log_events(
            logGroupName=self.group, logStreamName=self.stream, logEvents=events
        )

    def ensure_stream(self) -> None:
        """Create the stream, and the group first if it is missing."""
        try:
            self._create("CreateLogStream", "create_log_stream", logStreamName=self.stream)
        except Exception as exc:
            if classify(exc).action is not Action.MISSING:
                raise
            self._create("CreateLogGroup", "create_log_group")
            self.retention_applied = self.retention is None
            self._create("CreateLogStream", "create_log_stream", logStreamName=self.stream)

    def apply_retention(self) -> None:
        """PutRetentionPolicy, once per process (best effort: marked done first)."""
        self.retention_applied = True
        self.operation = "PutRetentionPolicy"
        self.client.put_retention_policy(logGroupName=self.group, retentionInDays=self.retention)

    def _create(self, operation: str, method: str, **kwargs: Any) -> None:
        self.operation = operation
        try:
            getattr(self.client, method)(logGroupName=self.group, **kwargs)
        except Exception as exc:
            response = getattr(exc, "response", None)
            error = response.get("Error") if isinstance(response, Mapping) else None
            if isinstance(error, Mapping) and error.get("Code") == "ResourceAlreadyExistsException":
                return  # another process made it first
            raise


def import_sdk() -> None:
    """Import what shipping needs (no client is built, no network I/O)."""
    import encodings.idna  # noqa: F401 -- imported lazily by the first client

    import boto3  # noqa: F401

    from botocore.config import Config  # noqa: F401


def default_client(region: str | None, endpoint_url: str | None) -> Any:
    """A boto3 ``logs`` client tuned for a background shipper (no network I/O)."""
    import boto3

    from botocore.config import Config

    config = Config(
        # The shipper retries with its own jittered backoff and deadline.
        retries={"total_max_attempts": 1},
        connect_timeout=2,
        read_timeout=10,
        # Batches are checked against CloudWatch's limits before sending.
        parameter_validation=False,
        tcp_keepalive=True,
        max_pool_connections=2,
    )
    session = boto3.session.Session()
    return session.client("logs", region_name=region, endpoint_url=endpoint_url, config=config)


def resolve_region() -> str | None:
    """
    The region boto3 would use (arguments aside): environment, then the
    shared config file. botocore reads them without network I/O.
    """
    import botocore.session

    with contextlib.suppress(Exception):
        region = botocore.session.get_session().get_config_variable("region")
        return region if isinstance(region, str) and region else None
    return None


def fresh_connections(client: Any) -> None:
    """
    Give an injected client new connection pools in a forked child (its
    parent's sockets are the parent's). botocore has no public call for
    this: best effort, and only for a client the service passed in.
    """
    with contextlib.suppress(Exception):
        from urllib3 import PoolManager

        http = client._endpoint.http_session
        http._manager = PoolManager(**http._get_pool_manager_kwargs())
        http._proxy_managers = {}
