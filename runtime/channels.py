"""Channels from one service to another, spread over every instance of the callee.

A target may name one address (``127.0.0.1:50052``), several (``127.0.0.1:1,127.0.0.1:2``,
sent as gRPC's ``ipv4:`` list) or a name resolving to several (``dns:///inventory-headless:50052``
for a Kubernetes headless Service). The channel balances calls round robin over every address
that is up, so a dead instance costs a retry at most, not an outage; gRPC's default,
pick_first, would send everything to one instance.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from runtime.telemetry import process_client_interceptors

ROUND_ROBIN: tuple[tuple[str, str], ...] = (("grpc.lb_policy_name", "round_robin"),)


def grpc_target(address: str) -> str:
    """``address`` as a gRPC target: a bare comma-separated list becomes ``ipv4:a,b``."""
    addresses = [part.strip() for part in address.split(",") if part.strip()]
    if len(addresses) > 1 and ":" in addresses[0] and not addresses[0].startswith("ipv4:"):
        return "ipv4:" + ",".join(addresses)
    return address.strip()


def balanced_channel(
    address: str, *, interceptors: Sequence[grpc.aio.ClientInterceptor] = ()
) -> grpc.aio.Channel:
    """An insecure channel calling every instance behind ``address`` in turn.

    ``interceptors``: a service's ``Telemetry.client_interceptors``, so calls join its traces;
    by default those of the process's tracer provider, if tracing is on.
    """
    chosen = list(interceptors) or process_client_interceptors()
    return grpc.aio.insecure_channel(grpc_target(address), options=ROUND_ROBIN,
                                     interceptors=chosen or None)
