"""``python -m user`` as a real process: health, reflection, admin bootstrap, clean SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.user.v1 import user_pb2, user_pb2_grpc
from runtime.mongo import Document, make_client
from tests.integration.user.conftest import PASSWORD
from tests.stack import REPO_ROOT, free_port
from tests.waiting import until_serving
from user.service import SERVICE_NAME

pytestmark = pytest.mark.integration

ADMIN_PASSWORD = "bootstrap-admin-secret"
START_TIMEOUT = 30.0


def output_of(log: Path) -> str:
    return log.read_text(errors="replace")


@pytest.fixture
async def server_process(mongo_url: str, tmp_path: Path,
                         ) -> AsyncIterator[tuple[asyncio.subprocess.Process, str, Path]]:
    address = f"127.0.0.1:{free_port()}"
    database = f"test_proc_{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "BOOKSTORE_USER_ADDR": address, "BOOKSTORE_MONGO_URL": mongo_url,
           "BOOKSTORE_USER_MONGO_DB": database, "BOOKSTORE_DATA_DIR": str(tmp_path),
           "BOOKSTORE_BCRYPT_ROUNDS": "4", "BOOKSTORE_LOG_LEVEL": "DEBUG",
           "BOOKSTORE_METRICS_ADDR": "127.0.0.1:0",
           "BOOKSTORE_ADMIN_EMAIL": "root@example.com",
           "BOOKSTORE_ADMIN_PASSWORD": ADMIN_PASSWORD}
    env.pop("BOOKSTORE_USER_MONGO_URL", None)
    log = tmp_path / "user.log"
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "user", cwd=REPO_ROOT, env=env,
            stdout=stderr, stderr=stderr)
    try:
        yield process, address, log
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        client = make_client(mongo_url)
        await client.drop_database(database)
        await client.close()


async def test_process_serves_health_and_reflection_and_stops_on_sigterm(
        server_process: tuple[asyncio.subprocess.Process, str, Path]) -> None:
    process, address, log = server_process
    async with grpc.aio.insecure_channel(address) as channel:
        await until_serving(channel, process, lambda: output_of(log),
                            name="python -m user", within=START_TIMEOUT)
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", SERVICE_NAME):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING

        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        call = reflection.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
        names = {s.name async for reply in call
                 for s in reply.list_services_response.service}
        assert SERVICE_NAME == "bookstore.user.v1.UserService"
        assert SERVICE_NAME in names
        assert "grpc.health.v1.Health" in names

        users = user_pb2_grpc.UserServiceStub(channel)
        auth = await users.AuthenticateUser(user_pb2.UserAuthRequest(
            email="root@example.com", password=ADMIN_PASSWORD), timeout=5)
        assert auth.user.role == user_pb2.ROLE_ADMIN
        await users.CreateUser(user_pb2.UserRequest(
            name="Ada", email="ada@example.com", password=PASSWORD), timeout=5)

    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), timeout=10) == 0
    output = output_of(log)
    assert "serving" in output
    for secret in (ADMIN_PASSWORD, PASSWORD, "$2b$"):
        assert secret not in output


async def test_create_admin_command_creates_then_reports_unchanged(
        mongo_db: AsyncDatabase[Document], mongo_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "BOOKSTORE_MONGO_URL": mongo_url,
           "BOOKSTORE_USER_MONGO_DB": mongo_db.name, "BOOKSTORE_DATA_DIR": str(tmp_path),
           "BOOKSTORE_BCRYPT_ROUNDS": "4", "BOOKSTORE_ADMIN_PASSWORD": ADMIN_PASSWORD}
    env.pop("BOOKSTORE_USER_MONGO_URL", None)

    async def create_admin() -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "user", "create-admin", "--email", " Root@Example.com",
            "--name", "Root", cwd=REPO_ROOT, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
        return process.returncode or 0, out.decode(), err.decode()

    code, out, err = await create_admin()
    assert (code, out) == (0, "admin root@example.com: created\n"), err
    code, out, err = await create_admin()
    assert (code, out) == (0, "admin root@example.com: unchanged\n"), err
    assert ADMIN_PASSWORD not in err
    doc = await mongo_db["users"].find_one({"email": "root@example.com"})
    assert doc is not None
    assert (doc["role"], doc["name"]) == ("admin", "Root")
