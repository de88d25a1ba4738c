"""The gRPC face of the user service: checks who calls, translates proto <-> domain.

Access rules: registration, login and password reset need no token; everything else does.
A customer acts on their own account only; an admin may read, update and delete any account;
a password is changed only by its owner. The permission check runs before the lookup, so a
customer cannot probe which ids exist. An id that is not an ObjectId cannot name an account
and is answered NOT_FOUND like any other unknown id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from contracts.bookstore.user.v1 import user_pb2, user_pb2_grpc
from runtime.auth import Role, TokenVerifier
from runtime.errors import InvalidArgument, PermissionDenied
from user.accounts import Accounts
from user.credentials import Credentials
from user.lockout import ClientAddresses
from user.model import UserRecord

Context = grpc.aio.ServicerContext[Any, Any]

SERVICE_NAME = user_pb2.DESCRIPTOR.services_by_name["UserService"].full_name

_ROLES = {Role.CUSTOMER: user_pb2.ROLE_CUSTOMER, Role.ADMIN: user_pb2.ROLE_ADMIN}


class UserServicer(user_pb2_grpc.UserServiceServicer):
    def __init__(self, accounts: Accounts, credentials: Credentials,
                 verifier: TokenVerifier, clients: ClientAddresses | None = None) -> None:
        self._accounts = accounts
        self._credentials = credentials
        self._verifier = verifier
        self._clients = clients or ClientAddresses()

    async def CreateUser(self, request: user_pb2.UserRequest,
                         context: Context) -> user_pb2.UserResponse:
        user = await self._accounts.create(request.name, request.email, request.password)
        return user_pb2.UserResponse(user=user_to_proto(user))

    async def GetUser(self, request: user_pb2.UserIDRequest,
                      context: Context) -> user_pb2.UserResponse:
        user_id = self._authorize(context, request.user_id)
        return user_pb2.UserResponse(user=user_to_proto(await self._accounts.get(user_id)))

    async def UpdateUser(self, request: user_pb2.UserUpdateRequest,
                         context: Context) -> user_pb2.UserResponse:
        user_id = self._authorize(context, request.user_id)
        user = await self._accounts.update(
            user_id,
            name=request.name if request.HasField("name") else None,
            email=request.email if request.HasField("email") else None,
        )
        return user_pb2.UserResponse(user=user_to_proto(user))

    async def AuthenticateUser(self, request: user_pb2.UserAuthRequest,
                               context: Context) -> user_pb2.AuthResponse:
        issued, user = await self._credentials.authenticate(
            request.email, request.password, self._client(context))
        return user_pb2.AuthResponse(access_token=issued.token, token_type="Bearer",
                                     expires_at=_timestamp(issued.expires_at),
                                     user=user_to_proto(user))

    async def DeleteUser(self, request: user_pb2.UserIDRequest,
                         context: Context) -> user_pb2.DeleteUserResponse:
        user_id = self._authorize(context, request.user_id)
        await self._accounts.delete(user_id)
        return user_pb2.DeleteUserResponse()

    async def ChangePassword(self, request: user_pb2.ChangePasswordRequest,
                             context: Context) -> user_pb2.ChangePasswordResponse:
        principal = self._verifier.authenticate(context)
        user_id = _require_id(request.user_id)
        if user_id != principal.user_id:
            raise PermissionDenied("you may only change your own password")
        await self._credentials.change_password(
            user_id, request.current_password, request.new_password,
            self._client(context))
        return user_pb2.ChangePasswordResponse()

    async def RequestPasswordReset(self, request: user_pb2.PasswordResetRequest,
                                   context: Context) -> user_pb2.PasswordResetResponse:
        await self._credentials.request_reset(request.email)
        return user_pb2.PasswordResetResponse()

    async def ResetPassword(self, request: user_pb2.ResetPasswordRequest,
                            context: Context) -> user_pb2.ResetPasswordResponse:
        await self._credentials.reset_password(
            request.email, request.reset_token, request.new_password)
        return user_pb2.ResetPasswordResponse()

    def _client(self, context: Context) -> str:
        """The address login throttling counts against (see :class:`ClientAddresses`)."""
        return self._clients.of(context.peer(), context.invocation_metadata() or ())

    def _authorize(self, context: Context, raw_user_id: str) -> str:
        """The requested id, once the caller is known and allowed to act on it."""
        principal = self._verifier.authenticate(context)
        user_id = _require_id(raw_user_id)
        principal.require_self_or_admin(user_id)
        return user_id


def user_to_proto(user: UserRecord) -> user_pb2.User:
    return user_pb2.User(id=user.id, name=user.name, email=user.email, role=_ROLES[user.role],
                         created_at=_timestamp(user.created_at),
                         updated_at=_timestamp(user.updated_at))


def _require_id(user_id: str) -> str:
    user_id = user_id.strip()
    if not user_id:
        raise InvalidArgument("user_id", "must not be empty")
    return user_id


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp
