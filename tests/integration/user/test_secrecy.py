"""No response and no log line ever carries a password or a password hash."""

from __future__ import annotations

import logging

import grpc
import pytest
from google.protobuf.message import Message

from contracts.bookstore.user.v1 import user_pb2
from tests.integration.user.conftest import PASSWORD, Harness, bearer, make_admin, rpc_error
from tests.integration.user.test_password_reset import mailed_token

pytestmark = pytest.mark.integration

NEW_PASSWORD = "second-secret-phrase"
RESET_PASSWORD = "third-secret-phrase"
TOO_LONG = "ü" * 36 + "x"
SECRETS = (PASSWORD, NEW_PASSWORD, RESET_PASSWORD, TOO_LONG, "$2b$")


async def test_every_rpc_keeps_passwords_and_hashes_out_of_responses_and_logs(
        harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    # The runtime's configure_logging holds pymongo at WARNING, whatever the level; do the
    # same here, since pymongo's DEBUG command log would print the stored documents. (Order
    # matters: set_level also sets the capture handler's level, which must end at DEBUG.)
    caplog.set_level(logging.WARNING, logger="pymongo")
    caplog.set_level(logging.DEBUG)
    stub = harness.stub
    responses: list[Message] = []

    created = await stub.CreateUser(user_pb2.UserRequest(
        name="Ada", email="ada@example.com", password=PASSWORD))
    responses.append(created)
    uid = created.user.id
    auth = await stub.AuthenticateUser(user_pb2.UserAuthRequest(
        email="ada@example.com", password=PASSWORD))
    responses.append(auth)
    token = bearer(auth.access_token)
    responses.append(await stub.GetUser(user_pb2.UserIDRequest(user_id=uid), metadata=token))
    responses.append(await stub.UpdateUser(
        user_pb2.UserUpdateRequest(user_id=uid, name="Ada L."), metadata=token))
    responses.append(await stub.ChangePassword(user_pb2.ChangePasswordRequest(
        user_id=uid, current_password=PASSWORD, new_password=NEW_PASSWORD), metadata=token))
    responses.append(await stub.RequestPasswordReset(
        user_pb2.PasswordResetRequest(email="ada@example.com")))
    reset_token = mailed_token(harness.mail_dir, "ada@example.com")
    responses.append(await stub.ResetPassword(user_pb2.ResetPasswordRequest(
        email="ada@example.com", reset_token=reset_token, new_password=RESET_PASSWORD)))
    _, admin_token = await make_admin(harness)
    responses.append(await stub.GetUser(user_pb2.UserIDRequest(user_id=uid),
                                        metadata=bearer(admin_token)))

    errors = [
        await rpc_error(stub.CreateUser(user_pb2.UserRequest(
            name="Ada", email="ada@example.com", password=PASSWORD))),
        await rpc_error(stub.CreateUser(user_pb2.UserRequest(
            name="Bob", email="bob@example.com", password=TOO_LONG))),
        await rpc_error(stub.AuthenticateUser(user_pb2.UserAuthRequest(
            email="ada@example.com", password=PASSWORD))),
        await rpc_error(stub.ChangePassword(user_pb2.ChangePasswordRequest(
            user_id=uid, current_password=PASSWORD, new_password=TOO_LONG), metadata=token)),
        await rpc_error(stub.ResetPassword(user_pb2.ResetPasswordRequest(
            email="ada@example.com", reset_token=reset_token, new_password=NEW_PASSWORD))),
    ]
    assert {e.code() for e in errors} == {grpc.StatusCode.ALREADY_EXISTS,
                                          grpc.StatusCode.INVALID_ARGUMENT,
                                          grpc.StatusCode.UNAUTHENTICATED}
    responses.append(await stub.DeleteUser(user_pb2.UserIDRequest(user_id=uid), metadata=token))

    wire = b"".join(r.SerializeToString() for r in responses).decode("utf-8", "replace")
    wire += "".join(str(r) for r in responses)
    wire += "".join(f"{e.details()}{e.debug_error_string()}" for e in errors)
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "password changed" in logged, "expected the service's own log lines"
    for secret in (*SECRETS, reset_token):
        assert secret not in wire
        assert secret not in logged
