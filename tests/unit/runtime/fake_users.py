"""A user service with one known user, served in-process through the real ``GrpcServer``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

import grpc

from contracts.bookstore.user.v1 import user_pb2, user_pb2_grpc
from runtime.errors import NotFound
from runtime.server import GrpcServer, ServiceBinding

SERVICE = "bookstore.user.v1.UserService"
KNOWN_USER = "u-1"
log = logging.getLogger("tests.fake_users")


class FakeUsers(user_pb2_grpc.UserServiceServicer):
    """``GetUser`` knows one user and logs as it answers; every other RPC is unimplemented."""

    async def GetUser(self, request: user_pb2.UserIDRequest,
                      context: grpc.aio.ServicerContext[object, object]
                      ) -> user_pb2.UserResponse:
        log.info("looking up a user", extra={"user_id": request.user_id})
        if request.user_id != KNOWN_USER:
            raise NotFound(f"no user {request.user_id}")
        return user_pb2.UserResponse(user=user_pb2.User(id=KNOWN_USER))


@contextlib.asynccontextmanager
async def serving(
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),  # type: ignore[type-arg]
) -> AsyncIterator[str]:
    """The fake service on a free port; yields its address."""
    servicer = FakeUsers()  # type: ignore[abstract]  # the generated base answers the rest
    binding = ServiceBinding(SERVICE, servicer, user_pb2_grpc.add_UserServiceServicer_to_server)
    server = GrpcServer("127.0.0.1:0", [binding], interceptors=interceptors)
    await server.start()
    try:
        yield server.address
    finally:
        await server.stop(0)
