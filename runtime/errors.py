"""Errors a request can end with, and the one place they become gRPC status codes.

Services raise these (or subclasses named for their domain); the server's error interceptor
turns them into a status with the message as details. Anything else is a bug: it is logged with
its traceback and the caller sees ``INTERNAL`` without internals.

    BookstoreError
    ├── InvalidArgument      INVALID_ARGUMENT    (names the field)
    ├── NotFound             NOT_FOUND
    ├── AlreadyExists        ALREADY_EXISTS
    ├── Unauthenticated      UNAUTHENTICATED
    ├── PermissionDenied     PERMISSION_DENIED
    ├── FailedPrecondition   FAILED_PRECONDITION
    ├── TooManyRequests      RESOURCE_EXHAUSTED
    └── Unavailable          UNAVAILABLE         (a dependency is away; retrying may help)
"""

from __future__ import annotations

import grpc


class BookstoreError(Exception):
    """Base of every error a caller is meant to see."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(BookstoreError):
    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class NotFound(BookstoreError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(BookstoreError):
    code = grpc.StatusCode.ALREADY_EXISTS


class Unauthenticated(BookstoreError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(BookstoreError):
    code = grpc.StatusCode.PERMISSION_DENIED


class FailedPrecondition(BookstoreError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class TooManyRequests(BookstoreError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(BookstoreError):
    code = grpc.StatusCode.UNAVAILABLE
