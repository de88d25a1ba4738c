"""gRPC statuses become the client's exceptions, in one place."""

from __future__ import annotations

import grpc
import pytest

from client import (
    AuthenticationError,
    BookstoreClientError,
    ConflictError,
    DeadlineExceededError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServiceUnavailableError,
    map_rpc_error,
)


def rpc_error(code: grpc.StatusCode, details: str = "") -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details, None)


@pytest.mark.parametrize(("code", "kind"), [
    (grpc.StatusCode.INVALID_ARGUMENT, InvalidArgumentError),
    (grpc.StatusCode.NOT_FOUND, NotFoundError),
    (grpc.StatusCode.UNAUTHENTICATED, AuthenticationError),
    (grpc.StatusCode.PERMISSION_DENIED, PermissionDeniedError),
    (grpc.StatusCode.ALREADY_EXISTS, ConflictError),
    (grpc.StatusCode.FAILED_PRECONDITION, FailedPreconditionError),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, RateLimitedError),
])
def test_status_codes_map_to_their_error(code: grpc.StatusCode,
                                         kind: type[BookstoreClientError]) -> None:
    error = map_rpc_error(rpc_error(code, "isbn: the check digit is wrong"),
                          service="inventory", address="127.0.0.1:50052")
    assert type(error) is kind
    assert isinstance(error, BookstoreClientError)
    assert error.message == "isbn: the check digit is wrong"
    assert error.code is code
    assert error.service == "inventory"


def test_connection_failure_names_service_and_address() -> None:
    exc = rpc_error(grpc.StatusCode.UNAVAILABLE,
                    "failed to connect to all addresses; last error: connection refused")
    error = map_rpc_error(exc, service="orders", address="127.0.0.1:50053")
    assert isinstance(error, ServiceUnavailableError)
    assert str(error) == ("cannot reach the order service at 127.0.0.1:50053 "
                          "(set by BOOKSTORE_ORDERS_ADDR) — is the stack running?")
    assert error.address == "127.0.0.1:50053"
    assert error.service == "orders"


@pytest.mark.parametrize("details", [
    "errors resolving not-a-host:1: ",  # what gRPC says when the resolver adds nothing
    "DNS resolution failed for not-a-host:1: C-ares status is not ARES_SUCCESS"])
def test_an_unresolvable_address_names_itself_and_its_variable(details: str) -> None:
    error = map_rpc_error(rpc_error(grpc.StatusCode.UNAVAILABLE, details),
                          service="user", address="not-a-host:1")
    assert isinstance(error, ServiceUnavailableError)
    assert str(error) == ("cannot resolve the user service's address not-a-host:1 "
                          "(set by BOOKSTORE_USER_ADDR) — is the host name right?")


def test_unavailable_from_the_service_itself_keeps_its_reason() -> None:
    exc = rpc_error(grpc.StatusCode.UNAVAILABLE, "the inventory service is unavailable, so "
                    "the order cannot be priced; try again shortly")
    error = map_rpc_error(exc, service="orders", address="127.0.0.1:50053")
    assert isinstance(error, ServiceUnavailableError)
    assert str(error).startswith("the order service is unavailable: the inventory service")


def test_deadline_names_the_service() -> None:
    error = map_rpc_error(rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"),
                          service="user", address="10.0.0.1:50051")
    assert isinstance(error, DeadlineExceededError)
    assert str(error) == "the user service at 10.0.0.1:50051 did not answer in time"


def test_unknown_codes_fall_back_to_the_base_error() -> None:
    error = map_rpc_error(rpc_error(grpc.StatusCode.INTERNAL, "internal error"),
                          service="user", address="a:1")
    assert type(error) is BookstoreClientError
    assert error.message == "internal error"


def test_empty_details_still_give_a_message() -> None:
    error = map_rpc_error(rpc_error(grpc.StatusCode.NOT_FOUND), service="inventory",
                          address="a:1")
    assert error.message == "the inventory service answered NOT_FOUND"


def test_client_side_input_errors_are_value_errors_too() -> None:
    assert issubclass(InvalidArgumentError, ValueError)
