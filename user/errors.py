"""The user service's errors: runtime errors named for what went wrong here.

Each subclasses the runtime error for its status code, so the server's interceptor maps it
with no extra code, and fixes its message so every path says the same thing.

    runtime.errors.Unauthenticated
    ├── InvalidCredentials     wrong email or password (one message for both)
    └── InvalidResetToken      reset token unknown, expired or already used
    runtime.errors.AlreadyExists
    └── EmailTaken
    runtime.errors.NotFound
    └── UserNotFound
    runtime.errors.TooManyRequests
    └── LoginLocked            too many recent failures for an email
"""

from __future__ import annotations

from runtime.errors import AlreadyExists, NotFound, TooManyRequests, Unauthenticated


class InvalidCredentials(Unauthenticated):
    def __init__(self) -> None:
        super().__init__("email or password is incorrect")


class InvalidResetToken(Unauthenticated):
    def __init__(self) -> None:
        super().__init__(
            "reset token is invalid, expired or already used; request a new one")


class EmailTaken(AlreadyExists):
    def __init__(self) -> None:
        super().__init__("an account with this email already exists")


class UserNotFound(NotFound):
    def __init__(self, user_id: str) -> None:
        super().__init__(f"no user with id {user_id[:64]!r}")


class LoginLocked(TooManyRequests):
    """Carries the human retry message built by :func:`user.lockout.describe_retry`."""
