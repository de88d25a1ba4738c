"""The client's exceptions, and the one place gRPC statuses become them.

Callers catch :class:`BookstoreClientError` once; subclasses say what went wrong so a caller
can react to one case (a missing book, a wrong password) without parsing messages.

    BookstoreClientError
    ├── InvalidArgumentError     INVALID_ARGUMENT, or input rejected before sending
    ├── NotFoundError            NOT_FOUND
    ├── AuthenticationError      UNAUTHENTICATED, or no stored session
    ├── PermissionDeniedError    PERMISSION_DENIED
    ├── ConflictError            ALREADY_EXISTS, ABORTED
    ├── FailedPreconditionError  FAILED_PRECONDITION
    ├── RateLimitedError         RESOURCE_EXHAUSTED
    ├── DeadlineExceededError    DEADLINE_EXCEEDED
    └── ServiceUnavailableError  UNAVAILABLE (names the service and its address)
"""

from __future__ import annotations

import grpc

SERVICE_TITLES = {"user": "user service", "inventory": "inventory service",
                  "orders": "order service"}


class BookstoreClientError(Exception):
    """Base of every error the client raises; ``str()`` is a one-line message for people."""

    def __init__(self, message: str, *, code: grpc.StatusCode | None = None,
                 service: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.service = service


class InvalidArgumentError(BookstoreClientError, ValueError):
    """The request was malformed: a field is missing, out of range or badly spelled."""


class NotFoundError(BookstoreClientError):
    """The user, book or order named does not exist (or is not visible to the caller)."""


class AuthenticationError(BookstoreClientError):
    """Wrong credentials, a missing or expired token: log in (again)."""


class PermissionDeniedError(BookstoreClientError):
    """Logged in, but this account may not do that (e.g. a customer calling an admin RPC)."""


class ConflictError(BookstoreClientError):
    """The thing exists already (a registered email, a book's ISBN)."""


class FailedPreconditionError(BookstoreClientError):
    """The request is valid but not in the current state (e.g. cancelling a shipped order)."""


class RateLimitedError(BookstoreClientError):
    """Too many attempts (e.g. failed logins); wait before trying again."""


class DeadlineExceededError(BookstoreClientError):
    """No answer within the call's deadline."""


class ServiceUnavailableError(BookstoreClientError):
    """The service cannot be reached, or says a dependency of its own is away."""

    def __init__(self, message: str, *, service: str, address: str,
                 code: grpc.StatusCode | None = grpc.StatusCode.UNAVAILABLE) -> None:
        super().__init__(message, code=code, service=service)
        self.address = address


_BY_CODE: dict[grpc.StatusCode, type[BookstoreClientError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.UNAUTHENTICATED: AuthenticationError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.ALREADY_EXISTS: ConflictError,
    grpc.StatusCode.ABORTED: ConflictError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: RateLimitedError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
}

# Details gRPC itself writes when no connection could be made, as opposed to a
# service answering UNAVAILABLE because one of its own dependencies is away.
_TRANSPORT_HINTS = ("failed to connect", "connection refused", "connect failed",
                    "socket closed", "connection reset", "no route to host")
# ... and those it writes when the address names no host (the resolver's own words, which
# gRPC appends, may well be empty).
_RESOLUTION_HINTS = ("errors resolving", "dns resolution failed", "name resolution failed")


def address_variable(service: str) -> str:
    """The environment variable that sets where ``service`` is reached."""
    return f"BOOKSTORE_{service.upper()}_ADDR"


def map_rpc_error(exc: grpc.aio.AioRpcError, *, service: str,
                  address: str) -> BookstoreClientError:
    """The client error for a failed call to ``service`` (a key of SERVICE_TITLES)."""
    code = exc.code()
    details = (exc.details() or "").strip()
    title = SERVICE_TITLES.get(service, f"{service} service")
    if code is grpc.StatusCode.UNAVAILABLE:
        lowered = details.lower()
        where = f"{address} (set by {address_variable(service)})"
        if any(hint in lowered for hint in _RESOLUTION_HINTS):
            message = f"cannot resolve the {title}'s address {where} — is the host name right?"
        elif not details or any(hint in lowered for hint in _TRANSPORT_HINTS):
            message = f"cannot reach the {title} at {where} — is the stack running?"
        else:
            message = f"the {title} is unavailable: {details}"
        return ServiceUnavailableError(message, service=service, address=address)
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return DeadlineExceededError(
            f"the {title} at {address} did not answer in time", code=code, service=service)
    if code is grpc.StatusCode.UNIMPLEMENTED:
        return BookstoreClientError(
            f"the {title} at {address} does not implement this call yet",
            code=code, service=service)
    kind = _BY_CODE.get(code, BookstoreClientError)
    message = details or f"the {title} answered {code.name}"
    return kind(message, code=code, service=service)
