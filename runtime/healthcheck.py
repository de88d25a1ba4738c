"""Exit 0 if a gRPC server reports SERVING, 1 otherwise: the containers' HEALTHCHECK.

    python -m runtime.healthcheck 127.0.0.1:50051 [service-name]
"""

from __future__ import annotations

import asyncio
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


async def is_serving(address: str, service: str = "", deadline_seconds: float = 3.0) -> bool:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=service),
                                     timeout=deadline_seconds)
        except grpc.aio.AioRpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print(__doc__, file=sys.stderr)
        return 2
    address, service = argv[0], (argv[1] if len(argv) > 1 else "")
    return 0 if asyncio.run(is_serving(address, service)) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
