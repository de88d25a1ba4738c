"""Access tokens: minted by the user service, verified locally by every service.

A token is a JWT signed with Ed25519 (``EdDSA``): ``sub`` is the user id, ``role`` is
``customer`` or ``admin``. Callers send it as ``authorization: Bearer <token>`` metadata.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from runtime.errors import PermissionDenied, Unauthenticated

ISSUER = "bookstore-user"
AUDIENCE = "bookstore"
ALGORITHM = "EdDSA"


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as proven by their token."""

    user_id: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def require_admin(self) -> None:
        if not self.is_admin:
            raise PermissionDenied("this action needs an admin account")

    def require_self_or_admin(self, user_id: str) -> None:
        """Customers act on their own account only; admins on any."""
        if not self.is_admin and user_id != self.user_id:
            raise PermissionDenied("you may only act on your own account")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: datetime


class TokenIssuer:
    """Signs access tokens; only the user service has one."""

    def __init__(self, private_key: Ed25519PrivateKey, ttl: timedelta) -> None:
        self._key = private_key
        self._ttl = ttl

    def issue(self, user_id: str, role: Role, *, now: datetime | None = None) -> IssuedToken:
        issued_at = now or datetime.now(UTC)
        expires_at = issued_at + self._ttl
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user_id,
            "role": role.value,
            "iat": issued_at,
            "exp": expires_at,
            "jti": uuid.uuid4().hex,
        }
        return IssuedToken(jwt.encode(claims, self._key, algorithm=ALGORITHM), expires_at)


class TokenVerifier:
    """Checks a token's signature, expiry, issuer and audience with the public key alone."""

    def __init__(self, public_key: Ed25519PublicKey, *, leeway_seconds: float = 5) -> None:
        self._key = public_key
        self._leeway = leeway_seconds

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token, self._key, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                leeway=self._leeway, options={"require": ["exp", "sub", "iat"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("access token has expired; log in again") from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("access token is invalid") from None
        try:
            return Principal(user_id=str(claims["sub"]), role=Role(str(claims.get("role"))))
        except ValueError:
            raise Unauthenticated("access token carries an unknown role") from None

    def authenticate(self, context: grpc.aio.ServicerContext[object, object]) -> Principal:
        """The caller of this RPC, from its ``authorization`` metadata; raises if absent or bad."""
        return self.verify(bearer_token(context))

    def authenticate_optional(
        self, context: grpc.aio.ServicerContext[object, object]
    ) -> Principal | None:
        """The caller if a token was sent, ``None`` if none was; a bad token still raises."""
        if _authorization_header(context) is None:
            return None
        return self.authenticate(context)


def bearer_token(context: grpc.aio.ServicerContext[object, object]) -> str:
    header = _authorization_header(context)
    if header is None:
        raise Unauthenticated("this call needs an access token: log in first")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("authorization metadata must read 'Bearer <token>'")
    return token.strip()


def _authorization_header(context: grpc.aio.ServicerContext[object, object]) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            return value if isinstance(value, str) else value.decode()
    return None
