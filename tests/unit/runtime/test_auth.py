"""Access tokens and the access rules a principal carries."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from runtime.auth import ALGORITHM, AUDIENCE, ISSUER, Principal, Role, TokenIssuer, TokenVerifier
from runtime.errors import PermissionDenied, Unauthenticated

KEY = Ed25519PrivateKey.generate()
ISSUER_ = TokenIssuer(KEY, timedelta(minutes=10))
VERIFIER = TokenVerifier(KEY.public_key())
USER_ID = "65a1b2c3d4e5f60718293a4b"


def test_issued_token_verifies_to_its_principal() -> None:
    issued = ISSUER_.issue(USER_ID, Role.ADMIN)
    assert VERIFIER.verify(issued.token) == Principal(USER_ID, Role.ADMIN)
    assert issued.expires_at - datetime.now(UTC) <= timedelta(minutes=10)


def test_expired_token_is_refused() -> None:
    issued = ISSUER_.issue(USER_ID, Role.CUSTOMER, now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(Unauthenticated, match="expired"):
        VERIFIER.verify(issued.token)


def test_token_signed_by_another_key_is_refused() -> None:
    forged = TokenIssuer(Ed25519PrivateKey.generate(), timedelta(minutes=10))
    with pytest.raises(Unauthenticated, match="invalid"):
        VERIFIER.verify(forged.issue(USER_ID, Role.ADMIN).token)


def test_tampered_claims_are_refused() -> None:
    header, payload, signature = ISSUER_.issue(USER_ID, Role.CUSTOMER).token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthenticated, match="invalid"):
        VERIFIER.verify(f"{header}.{forged_payload}.{signature}")


def _encode(**overrides: object) -> str:
    now = datetime.now(UTC)
    claims: dict[str, object] = {"iss": ISSUER, "aud": AUDIENCE, "sub": USER_ID,
                                 "role": "customer", "iat": now,
                                 "exp": now + timedelta(minutes=5), **overrides}
    return jwt.encode(claims, KEY, algorithm=ALGORITHM)


@pytest.mark.parametrize("overrides", [
    {"aud": "someone-else"}, {"iss": "someone-else"}, {"role": "superuser"},
])
def test_wrong_audience_issuer_or_role_is_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(Unauthenticated):
        VERIFIER.verify(_encode(**overrides))


def test_unsigned_token_is_refused() -> None:
    claims = jwt.decode(_encode(), options={"verify_signature": False})
    with pytest.raises(Unauthenticated):
        VERIFIER.verify(jwt.encode(claims, "", algorithm="none"))


def test_garbage_is_refused() -> None:
    with pytest.raises(Unauthenticated):
        VERIFIER.verify("not-a-token")


def test_customer_acts_on_own_account_only() -> None:
    customer = Principal(USER_ID, Role.CUSTOMER)
    customer.require_self_or_admin(USER_ID)
    with pytest.raises(PermissionDenied):
        customer.require_self_or_admin("65a1b2c3d4e5f60718293a4c")
    with pytest.raises(PermissionDenied):
        customer.require_admin()
    assert not customer.is_admin


def test_admin_acts_on_any_account() -> None:
    admin = Principal(USER_ID, Role.ADMIN)
    admin.require_self_or_admin("65a1b2c3d4e5f60718293a4c")
    admin.require_admin()
    assert admin.is_admin
