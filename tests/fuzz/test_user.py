"""Every UserService RPC, fuzzed: no request yields INTERNAL or UNKNOWN, and the service
keeps serving afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymongo import AsyncMongoClient

from contracts.bookstore.user.v1 import user_pb2 as pb
from runtime.mongo import Document, make_client
from runtime.server import GrpcServer
from tests.fuzz.harness import (
    FUZZ,
    NEVER,
    BackgroundLoop,
    Metadata,
    Rpc,
    Target,
    auth_headers,
    rpcs_of,
)
from tests.fuzz.messages import TEXT, requests
from user.app import build
from user.config import UserSettings

pytestmark = pytest.mark.integration

RPCS = rpcs_of(pb, "UserService")
SERVICE_NAME = RPCS[0].service
PASSWORD = "s3cret-passphrase"
EMAILS = ["ada@example.com", "root@example.com", "ghost@example.com"]


@dataclass
class Fuzzed:
    target: Target
    headers: list[Metadata]
    user_ids: list[str]


@pytest.fixture(scope="module")
def fuzzed(loop: BackgroundLoop, mongo_url: str, tmp_path_factory: pytest.TempPathFactory,
           ) -> Iterator[Fuzzed]:
    name = f"fuzz_user_{uuid.uuid4().hex[:10]}"
    data_dir: Path = tmp_path_factory.mktemp("fuzz-user")
    settings = UserSettings.load(data_dir=data_dir, bcrypt_rounds=4)

    async def start() -> tuple[AsyncMongoClient[Document], GrpcServer, str]:
        client = make_client(mongo_url)  # both belong to the loop they are made on
        service = await build(client[name], settings)
        admin, _ = await service.accounts.ensure_admin("root@example.com", "Root", PASSWORD)
        server = GrpcServer("127.0.0.1:0", [service.binding()])
        await server.start()
        return client, server, admin.id

    client, server, admin_id = loop.run(start())
    target = Target(server.address, SERVICE_NAME)
    try:
        ada = target.unary("CreateUser", pb.UserRequest(
            name="Ada", email="ada@example.com", password=PASSWORD), pb.UserResponse).user
        tokens = [target.unary("AuthenticateUser", pb.UserAuthRequest(
            email=email, password=PASSWORD), pb.AuthResponse).access_token
            for email in ("ada@example.com", "root@example.com")]
        yield Fuzzed(target, auth_headers(tokens), [ada.id, admin_id])
    finally:
        target.close()
        loop.run(server.stop(0))
        loop.run(client.drop_database(name))
        loop.run(client.close())


@pytest.mark.parametrize("rpc", RPCS, ids=lambda rpc: rpc.name)
def test_no_request_breaks_the_service(fuzzed: Fuzzed, rpc: Rpc) -> None:
    emails = st.sampled_from(EMAILS) | TEXT
    passwords = st.just(PASSWORD) | TEXT
    hints = {"user_id": st.sampled_from(fuzzed.user_ids) | TEXT, "email": emails,
             "password": passwords, "current_password": passwords, "new_password": passwords}

    @FUZZ
    @given(request=requests(rpc.request_type, hints),
           metadata=st.sampled_from(fuzzed.headers))
    def call(request: object, metadata: Metadata) -> None:
        code = fuzzed.target.call(rpc, request, metadata)  # type: ignore[arg-type]
        assert code not in NEVER, f"{rpc.name} answered {code.name} to {request!r}"

    call()
    assert fuzzed.target.serving()
    email = f"check-{uuid.uuid4().hex[:8]}@example.com"
    created = fuzzed.target.unary("CreateUser", pb.UserRequest(
        name="Check", email=email, password=PASSWORD), pb.UserResponse).user
    assert created.email == email
