"""The gRPC server every service runs: health, reflection, error mapping, graceful stop.

Shaped like the grpc.aio examples: build, bind (port 0 picks a free port), start, and at stop
report NOT_SERVING through health, let in-flight calls finish, then stop. When to stop is the
entry point's business (:mod:`runtime.entry`).

Health (``grpc.health.v1``) is SERVING, overall (``""``) and for each service name, only
while every dependency passes its probe (:mod:`runtime.health`); ``liveness`` is SERVING
while the process runs, whatever its dependencies do. From the graceful stop on, everything
is NOT_SERVING for good.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from pymongo.errors import ConnectionFailure

from runtime.errors import BookstoreError
from runtime.health import DEFAULT_INTERVAL, DEFAULT_TIMEOUT, Dependency, DependencyMonitor
from runtime.metrics import RpcMetrics
from runtime.settings import StartupError

log = logging.getLogger(__name__)

LIVENESS = "liveness"
"""The health service name a liveness probe asks: SERVING until the graceful stop."""


@dataclass(frozen=True, slots=True)
class ServiceBinding:
    """One gRPC service to serve: its servicer and the generated function that registers it."""

    full_name: str  # e.g. "bookstore.user.v1.UserService", from the generated DESCRIPTOR
    servicer: object
    add_to_server: Callable[[Any, grpc.aio.Server], None]


class _Guarded:
    """A servicer whose RPC methods map errors to status codes, as registered, not per call.

    The generated ``add_<Service>Servicer_to_server`` reads each RPC method off the servicer
    once; handing it guarded methods costs nothing per call, where a server interceptor adds
    a coroutine and a new handler object to every call (about a tenth of a cached read).
    """

    def __init__(self, servicer: object, service: str) -> None:
        self._servicer = servicer
        self._service = service

    def __getattr__(self, name: str) -> Any:
        behavior = getattr(self._servicer, name)
        if not (callable(behavior) and name[:1].isupper()):
            return behavior
        method = f"/{self._service}/{name}"
        if inspect.isasyncgenfunction(behavior):
            return _guard_stream(method, behavior)
        if not inspect.iscoroutinefunction(behavior):
            behavior = _as_coroutine(behavior)  # generated bases answer unimplemented RPCs so
        return _guard_unary(method, behavior)


def _as_coroutine(function: Callable[..., Any]) -> Callable[..., Any]:
    async def call(*args: Any) -> Any:
        return function(*args)

    return call


async def _abort_for(
    method: str, exc: BaseException, context: grpc.aio.ServicerContext[Any, Any]
) -> None:
    if isinstance(exc, BookstoreError):
        log.info("rpc failed", extra={"rpc": method, "code": exc.code.name, "detail": exc.message})
        await context.abort(exc.code, exc.message)
    if isinstance(exc, NotImplementedError):  # what generated servicer bases raise
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented")
    if isinstance(exc, ConnectionFailure):
        # The database is away, not a bug: the caller may retry what is safe to repeat.
        log.warning("rpc failed: database unreachable", extra={"rpc": method, "error": repr(exc)})
        await context.abort(grpc.StatusCode.UNAVAILABLE, "the database is unreachable; retry")
    log.exception("rpc crashed", extra={"rpc": method}, exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error; it has been logged")


def _guard_unary(method: str, behavior: Callable[..., Any]) -> Callable[..., Any]:
    rpc = RpcMetrics(method)

    async def guarded(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        started = time.perf_counter()
        cancelled = False
        try:
            return await behavior(request, context)
        except asyncio.CancelledError:
            cancelled = True
            raise
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # the boundary where every failure gets a status
            await _abort_for(method, exc, context)
        finally:
            elapsed = time.perf_counter() - started
            # An abort, here or in the servicer, has set the code; a plain return has not.
            rpc.observe(grpc.StatusCode.CANCELLED if cancelled else context.code(), elapsed)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("rpc", extra={"rpc": method, "ms": elapsed * 1e3})

    return guarded


def _guard_stream(method: str, behavior: Callable[..., AsyncIterator[Any]]) -> Callable[..., Any]:
    rpc = RpcMetrics(method)

    async def guarded(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        started = time.perf_counter()
        cancelled = False
        try:
            async for response in behavior(request, context):
                yield response
        except (asyncio.CancelledError, GeneratorExit):  # the caller went away
            cancelled = True
            raise
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # as in _guard_unary
            await _abort_for(method, exc, context)
        finally:
            rpc.observe(grpc.StatusCode.CANCELLED if cancelled else context.code(),
                        time.perf_counter() - started)

    return guarded


class ListenError(StartupError):
    """The server cannot bind its address (taken, or not an address)."""


class GrpcServer:
    """A ``grpc.aio`` server with the standard health and reflection services."""

    def __init__(
        self,
        address: str,
        bindings: Sequence[ServiceBinding],
        *,
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),  # type: ignore[type-arg]
        dependencies: Sequence[Dependency] = (),
        probe_interval: float = DEFAULT_INTERVAL,
        probe_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        # No SO_REUSEPORT: a second server on a taken port must fail, not share its traffic.
        self._server = grpc.aio.server(interceptors=list(interceptors),
                                       options=[("grpc.so_reuseport", 0)])
        self._health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        for binding in bindings:
            binding.add_to_server(_Guarded(binding.servicer, binding.full_name), self._server)
        self._names = [b.full_name for b in bindings]
        reflection.enable_server_reflection(
            [*self._names, health.SERVICE_NAME, reflection.SERVICE_NAME], self._server)
        try:
            self.port = self._server.add_insecure_port(address)
        except RuntimeError:  # what grpcio raises when the address is taken or malformed
            self.port = 0
        if self.port == 0:
            raise ListenError(f"cannot listen on {address}")
        self.address = f"{address.rsplit(':', 1)[0]}:{self.port}"
        self._monitor = DependencyMonitor(dependencies, self._report, interval=probe_interval,
                                          timeout=probe_timeout)

    async def start(self) -> None:
        """Serve; health reports the first probe round's verdict, then follows the probes."""
        await self._set_all(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self._health.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
        await self._server.start()
        await self._monitor.start()

    async def stop(self, grace: float) -> None:
        """Report NOT_SERVING, refuse new calls, give running ones ``grace`` seconds."""
        await self._monitor.stop()
        await self._health.enter_graceful_shutdown()
        await self._server.stop(grace)

    async def _report(self, healthy: bool) -> None:
        status = (health_pb2.HealthCheckResponse.SERVING if healthy
                  else health_pb2.HealthCheckResponse.NOT_SERVING)
        log.log(logging.INFO if healthy else logging.WARNING, "health",
                extra={"status": health_pb2.HealthCheckResponse.ServingStatus.Name(status)})
        await self._set_all(status)

    async def _set_all(self, status: int) -> None:
        """``status`` overall and for every service served (not ``liveness``)."""
        for name in ("", *self._names):
            await self._health.set(name, status)

