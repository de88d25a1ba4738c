"""One channel per service, and the single path every call takes through it.

That path adds the token, the deadline and retries, and turns a failed call into a client
error. Retries happen on UNAVAILABLE only, and only for calls the caller marks as safe to
repeat: a read, an idempotent write, or PlaceOrder with its idempotency key.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import grpc
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from client._config import ClientConfig
from client._errors import map_rpc_error

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Metadata = tuple[tuple[str, str], ...]


def _is_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, grpc.aio.AioRpcError) and exc.code() is grpc.StatusCode.UNAVAILABLE


def _channel_options(config: ClientConfig) -> list[tuple[str, int]]:
    """Reconnect as fast as we retry: gRPC's own 1 s reconnect backoff would otherwise make
    every retry inside that second fail at once, without even trying to connect."""
    initial_ms = max(int(config.retry_initial_wait * 1000), 1)
    return [("grpc.initial_reconnect_backoff_ms", initial_ms),
            ("grpc.min_reconnect_backoff_ms", initial_ms),
            ("grpc.max_reconnect_backoff_ms", max(int(config.retry_max_wait * 1000), initial_ms))]


class Transport:
    """Owns the channels; ``call`` and ``stream`` are the only ways out of the client."""

    SERVICES = ("user", "inventory", "orders")

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        options = _channel_options(config)
        self.channels: dict[str, grpc.aio.Channel] = {
            name: grpc.aio.insecure_channel(config.address_of(name), options=options)
            for name in self.SERVICES}
        self.token: str | None = None

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close(None)

    def metadata(self) -> Metadata:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    def _retrying(self, attempts: int) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(max(attempts, 1)),
            # Jitter up to one initial wait keeps many clients from retrying in step.
            wait=wait_exponential_jitter(multiplier=self.config.retry_initial_wait,
                                         jitter=self.config.retry_initial_wait,
                                         max=self.config.retry_max_wait),
            retry=retry_if_exception(_is_unavailable), reraise=True)

    async def call(self, service: str, method: Callable[..., Any], request: Req, *,
                   idempotent: bool, deadline: float | None = None) -> Any:
        """Send one unary request to ``service`` with the deadline; map any failure."""
        seconds = self.config.timeout if deadline is None else deadline
        retries = self.config.retry_attempts - 1 if idempotent else 0
        try:
            try:  # the usual case needs no retry machinery: tenacity only once one failed
                return await method(request, timeout=seconds, metadata=self.metadata())
            except grpc.aio.AioRpcError as exc:
                if retries < 1 or not _is_unavailable(exc):
                    raise
            # The first wait as tenacity's below: one initial wait plus up to one of jitter.
            initial = self.config.retry_initial_wait
            await asyncio.sleep(initial + random.uniform(0, initial))  # noqa: S311 - jitter
            async for attempt in self._retrying(retries):
                with attempt:
                    return await method(request, timeout=seconds, metadata=self.metadata())
        except grpc.aio.AioRpcError as exc:
            raise map_rpc_error(exc, service=service,
                                address=self.config.address_of(service)) from exc
        raise AssertionError("tenacity stopped without an outcome")  # pragma: no cover

    async def stream(self, service: str, method: Callable[..., Any], request: Req, *,
                     deadline: float | None = None) -> AsyncIterator[Any]:
        """Yield a server stream's messages; reopen it on UNAVAILABLE within the budget.

        Reopening is safe for the streams the client uses (WatchOrder sends the current
        state first), so a caller may see that state twice, never miss a change.
        """
        seconds = self.config.watch_timeout if deadline is None else deadline
        failures = 0
        while True:
            call = method(request, timeout=seconds, metadata=self.metadata())
            try:
                async for message in call:
                    failures = 0
                    yield message
                return
            except grpc.aio.AioRpcError as exc:
                failures += 1
                if not _is_unavailable(exc) or failures >= self.config.retry_attempts:
                    raise map_rpc_error(exc, service=service,
                                        address=self.config.address_of(service)) from exc
            finally:
                call.cancel()
            wait = min(self.config.retry_initial_wait * 2 ** (failures - 1),
                       self.config.retry_max_wait)
            await asyncio.sleep(wait)
