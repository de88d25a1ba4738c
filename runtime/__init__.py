"""Service runtime shared by every Bookstore service: settings, logging, MongoDB, gRPC, auth."""

from runtime.auth import Principal, Role, TokenIssuer, TokenVerifier
from runtime.errors import (
    AlreadyExists,
    BookstoreError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
)
from runtime.logs import configure_logging
from runtime.mongo import open_database
from runtime.server import GrpcServer, ServiceBinding
from runtime.settings import ServiceSettings, SettingsError, StartupError

__all__ = [
    "AlreadyExists",
    "BookstoreError",
    "FailedPrecondition",
    "GrpcServer",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "Principal",
    "Role",
    "ServiceBinding",
    "ServiceSettings",
    "SettingsError",
    "StartupError",
    "TokenIssuer",
    "TokenVerifier",
    "TooManyRequests",
    "Unauthenticated",
    "Unavailable",
    "configure_logging",
    "open_database",
]
