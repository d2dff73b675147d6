"""Errors of the AWS SDK classified by type and code, never by message."""

from __future__ import annotations

from typing import Any

import pytest

from botocore import exceptions as bx

from safelog.cloudwatch._transport import LOUD, Action, Reason, classify


CANARY = "CANARY-5b1e-secret-in-an-error-message"


def _client_error(code: str, status: int, message: str = CANARY) -> bx.ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return bx.ClientError(response, "PutLogEvents")


class TestClassify:
    @pytest.mark.parametrize(
        ("exc", "action", "reason", "error"),
        [
            (bx.NoCredentialsError(), Action.RETRY, Reason.CREDENTIALS, "NoCredentialsError"),
            (
                bx.PartialCredentialsError(provider="env", cred_var="x"),
                Action.RETRY,
                Reason.CREDENTIALS,
                "PartialCredentialsError",
            ),
            (bx.NoRegionError(), Action.RETRY, Reason.REGION, "NoRegionError"),
            (
                bx.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
                Action.RETRY,
                Reason.ENDPOINT,
                "EndpointConnectionError",
            ),
            (
                bx.ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"),
                Action.RETRY,
                Reason.ENDPOINT,
                "ConnectTimeoutError",
            ),
            (
                bx.ReadTimeoutError(endpoint_url="http://127.0.0.1:1"),
                Action.RETRY,
                Reason.TIMEOUT,
                "ReadTimeoutError",
            ),
            (ConnectionResetError(), Action.RETRY, Reason.ENDPOINT, "ConnectionResetError"),
            (RuntimeError(CANARY), Action.RETRY, Reason.OTHER, "RuntimeError"),
        ],
    )
    def test_sdk_errors_by_class(
        self, exc: Exception, action: Action, reason: Reason, error: str
    ) -> None:
        """botocore's own errors are classified by class, and named by their class only."""
        failure = classify(exc)
        assert (failure.action, failure.reason, failure.error) == (action, reason, error)
        assert failure.code == ""

    @pytest.mark.parametrize(
        ("code", "status", "action", "reason"),
        [
            ("ThrottlingException", 400, Action.RETRY, Reason.THROTTLED),
            ("Anything", 429, Action.RETRY, Reason.THROTTLED),
            ("InternalFailure", 500, Action.RETRY, Reason.SERVER),
            ("ServiceUnavailableException", 503, Action.RETRY, Reason.SERVER),
            ("ExpiredTokenException", 400, Action.RETRY, Reason.CREDENTIALS),
            ("UnrecognizedClientException", 400, Action.RETRY, Reason.CREDENTIALS),
            ("AccessDeniedException", 400, Action.RETRY, Reason.ACCESS_DENIED),
            ("Whatever", 403, Action.RETRY, Reason.ACCESS_DENIED),
            ("ResourceNotFoundException", 400, Action.MISSING, Reason.MISSING),
            ("InvalidParameterException", 400, Action.INVALID, Reason.INVALID),
            ("DataAlreadyAcceptedException", 400, Action.OK, Reason.OTHER),
            ("404", 404, Action.RETRY, Reason.ENDPOINT),
        ],
    )
    def test_client_errors_by_code_and_status(
        self, code: str, status: int, action: Action, reason: Reason
    ) -> None:
        """A service answer is classified by its code and HTTP status."""
        failure = classify(_client_error(code, status))
        assert (failure.action, failure.reason) == (action, reason)
        assert failure.error == "ClientError"

    def test_only_known_codes_are_ever_named(self) -> None:
        """A code from the network that is not a known AWS code is never repeated."""
        assert classify(_client_error("AccessDeniedException", 400)).code == "AccessDeniedException"
        assert classify(_client_error(CANARY, 400)).code == ""
        assert classify(_client_error(CANARY, 500)).reason is Reason.SERVER

    def test_a_lost_answer_marks_the_request_as_maybe_stored(self) -> None:
        """Read timeouts and connections closed mid-response may have stored the batch."""
        url = "http://127.0.0.1:1"
        assert classify(bx.ReadTimeoutError(endpoint_url=url)).maybe_sent
        assert classify(bx.ConnectionClosedError(endpoint_url=url)).maybe_sent
        assert not classify(bx.EndpointConnectionError(endpoint_url=url)).maybe_sent
        assert not classify(bx.ConnectTimeoutError(endpoint_url=url)).maybe_sent

    def test_messages_are_never_read(self) -> None:
        """Nothing of the error message appears in the classification."""
        failure = classify(_client_error("ThrottlingException", 400, CANARY))
        assert CANARY not in repr(failure)

    def test_loud_reasons_are_those_an_operator_must_act_on(self) -> None:
        """Credentials, permissions, region and endpoint are loud; throttling is not."""
        assert {Reason.CREDENTIALS, Reason.ACCESS_DENIED, Reason.REGION, Reason.ENDPOINT} <= LOUD
        assert not {Reason.THROTTLED, Reason.MISSING, Reason.INVALID, Reason.TIMEOUT} & LOUD
