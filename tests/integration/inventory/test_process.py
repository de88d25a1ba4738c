"""``python -m inventory`` as a real process: health, reflection, the saga wired, clean SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.bookstore.inventory.v1 import inventory_pb2 as pb
from contracts.bookstore.inventory.v1 import inventory_pb2_grpc as pb_grpc
from inventory.config import InventorySettings
from runtime.auth import Role, TokenIssuer
from runtime.keys import load_private_key
from runtime.mongo import make_client
from tests.integration.inventory.broker import fresh_prefix, order_placed, watching
from tests.integration.inventory.conftest import fresh_isbn
from tests.stack import REPO_ROOT, free_port
from tests.waiting import until_serving

pytestmark = pytest.mark.integration

SERVICE = "bookstore.inventory.v1.InventoryService"
START_TIMEOUT = 30.0


@dataclass
class Process:
    process: asyncio.subprocess.Process
    address: str
    log: Path
    prefix: str
    data_dir: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
async def inventory_process(
    mongo_url: str, amqp_url: str, tmp_path: Path
) -> AsyncIterator[Process]:
    address, prefix = f"127.0.0.1:{free_port()}", fresh_prefix()
    database = f"test_proc_{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "BOOKSTORE_INVENTORY_ADDR": address, "BOOKSTORE_MONGO_URL": mongo_url,
           "BOOKSTORE_INVENTORY_MONGO_DB": database, "BOOKSTORE_DATA_DIR": str(tmp_path),
           "BOOKSTORE_AMQP_URL": amqp_url, "BOOKSTORE_SAGA_PREFIX": prefix,
           "BOOKSTORE_LOG_LEVEL": "DEBUG", "BOOKSTORE_METRICS_ADDR": "127.0.0.1:0"}
    env.pop("BOOKSTORE_INVENTORY_MONGO_URL", None)
    log = tmp_path / "inventory.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "inventory", cwd=REPO_ROOT, env=env, stdout=out, stderr=out)
    try:
        yield Process(process, address, log, prefix, tmp_path)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        client = make_client(mongo_url)
        await client.drop_database(database)
        await client.close()


async def test_process_serves_and_stops_on_sigterm(
    inventory_process: Process, amqp_url: str
) -> None:
    proc = inventory_process
    async with watching(amqp_url, proc.prefix) as wire, \
            grpc.aio.insecure_channel(proc.address) as channel:
        await until_serving(channel, proc.process, proc.output, name="inventory",
                            service=SERVICE, within=START_TIMEOUT)
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        call = reflection.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
        names = {s.name async for reply in call for s in reply.list_services_response.service}
        assert {SERVICE, "grpc.health.v1.Health"} <= names

        # The development key the process created is the one its tokens must verify with.
        settings = InventorySettings.load(data_dir=proc.data_dir, jwt_private_key_file=None)
        issuer = TokenIssuer(load_private_key(settings), timedelta(minutes=5))
        admin = (("authorization", f"Bearer {issuer.issue('root', Role.ADMIN).token}"),)
        stub = pb_grpc.InventoryServiceStub(channel)
        book = (await stub.AddBook(pb.BookRequest(
            title="Dune", author="Frank Herbert", isbn=fresh_isbn(), price_cents=999, stock=2),
            metadata=admin, timeout=5)).book

        order_id = uuid.uuid4().hex
        await wire.publish(order_placed(order_id, (book.id, 2)))
        [reply] = await wire.collect(1)
        assert isinstance(reply, ev.StockReserved)
        assert reply.order_id == order_id
        left = await stub.CheckAvailability(pb.BookIDRequest(book_id=book.id), timeout=5)
        assert (left.available, left.in_stock) == (0, False)

        proc.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.process.wait(), timeout=20) == 0, proc.output()
    assert "serving" in proc.output()
