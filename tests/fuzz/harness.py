"""Real servers for fuzzing, run on their own event loop in a thread.

Hypothesis drives plain synchronous tests (one example after another), so the servers cannot
share the test's loop: each module starts its servers once on a background loop, against a
fresh database on the real MongoDB-compatible server, and calls go through real channels.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, settings

T = TypeVar("T")
Metadata = tuple[tuple[str, str], ...]
CALL_SECONDS = 5.0
NEVER = frozenset({grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN})

# A few seconds per RPC: enough examples to find the shallow holes on every run, bounded so
# the whole fuzz suite stays a small part of the test run.
FUZZ = settings(max_examples=100, deadline=None, database=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


class BackgroundLoop:
    """An event loop in a daemon thread; coroutines are run on it and waited for."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fuzz-servers",
                                        daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=timeout)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


@dataclass
class Rpc:
    """One method of a service, callable with any request of its input type."""

    service: str
    name: str
    request_type: type[Message]
    response_type: type[Message]
    streaming: bool

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.name}"


def rpcs_of(file_module: Any, service_name: str) -> list[Rpc]:
    """Every RPC ``service_name`` declares in a generated ``*_pb2`` module."""
    from google.protobuf import message_factory
    service = file_module.DESCRIPTOR.services_by_name[service_name]
    return [Rpc(service.full_name, method.name,
                message_factory.GetMessageClass(method.input_type),
                message_factory.GetMessageClass(method.output_type),
                method.server_streaming)
            for method in service.methods]


@dataclass
class Target:
    """A running server, reached over a real channel from the test's thread."""

    address: str
    service: str
    channel: grpc.Channel = field(init=False)

    def __post_init__(self) -> None:
        self.channel = grpc.insecure_channel(self.address)

    def call(self, rpc: Rpc, request: Message, metadata: Metadata) -> grpc.StatusCode:
        """The status the call ends with (``OK`` included)."""
        try:
            if rpc.streaming:
                stream = self.channel.unary_stream(
                    rpc.path, request_serializer=rpc.request_type.SerializeToString,
                    response_deserializer=rpc.response_type.FromString)
                for _ in stream(request, metadata=metadata, timeout=1.0):
                    pass  # a watch that stays open ends at its deadline
            else:
                unary = self.channel.unary_unary(
                    rpc.path, request_serializer=rpc.request_type.SerializeToString,
                    response_deserializer=rpc.response_type.FromString)
                unary(request, metadata=metadata, timeout=CALL_SECONDS)
        except grpc.RpcError as error:
            return error.code()
        return grpc.StatusCode.OK

    def unary(self, method: str, request: Message, response_type: type[Message],
              metadata: Metadata = ()) -> Any:
        """A plain call of ``method`` on this service, for setup and the after-check."""
        call = self.channel.unary_unary(
            f"/{self.service}/{method}", request_serializer=type(request).SerializeToString,
            response_deserializer=response_type.FromString)
        return call(request, metadata=metadata, timeout=CALL_SECONDS)

    def serving(self) -> bool:
        stub = health_pb2_grpc.HealthStub(self.channel)
        answer = stub.Check(health_pb2.HealthCheckRequest(service=self.service), timeout=5)
        return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)

    def close(self) -> None:
        self.channel.close()


def bearer(token: str) -> Metadata:
    return (("authorization", f"Bearer {token}"),)


def auth_headers(tokens: Sequence[str]) -> list[Metadata]:
    """No header, malformed ones, and a bearer header for each of ``tokens``."""
    return [(), (("authorization", "Bearer"),), (("authorization", "Basic abc"),),
            (("authorization", "Bearer not.a.jwt"),), (("authorization", "Bearer " + "A" * 9000),),
            *((("authorization", f"Bearer {token}"),) for token in tokens)]
