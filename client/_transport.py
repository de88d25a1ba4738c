"""Two channels per service, and the single path every call takes through them.

That path adds the token and the deadline, and turns a failed call into a client error.
Retries are gRPC's own, declared in the channel's service config: on UNAVAILABLE, up to
``retry_attempts`` attempts with exponential backoff, all within the call's deadline. Only
calls safe to repeat (a read, an idempotent write, PlaceOrder with its idempotency key) go
through the retrying channel; the others go through one that never retries.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import grpc

from client._config import ClientConfig
from client._errors import map_rpc_error

Req = TypeVar("Req")
Metadata = tuple[tuple[str, str], ...]
Option = tuple[str, int | str]


def _seconds(value: float) -> str:
    return f"{value:.3f}s"


def retry_service_config(config: ClientConfig) -> str:
    """The service config retrying every method of the channel on UNAVAILABLE."""
    return json.dumps({"methodConfig": [{
        "name": [{}],  # every service and method on the channel
        "retryPolicy": {
            "maxAttempts": config.retry_attempts,
            "initialBackoff": _seconds(config.retry_initial_wait),
            "maxBackoff": _seconds(max(config.retry_max_wait, config.retry_initial_wait)),
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        },
    }]})


def channel_options(config: ClientConfig, *, retry: bool) -> list[Option]:
    """Reconnect as fast as we retry: gRPC's own 1 s reconnect backoff would otherwise make
    every retry inside that second fail at once, without even trying to connect."""
    initial_ms = max(int(config.retry_initial_wait * 1000), 1)
    options: list[Option] = [
        ("grpc.initial_reconnect_backoff_ms", initial_ms),
        ("grpc.min_reconnect_backoff_ms", initial_ms),
        ("grpc.max_reconnect_backoff_ms", max(int(config.retry_max_wait * 1000), initial_ms))]
    if retry and config.retry_attempts > 1:  # gRPC refuses a policy of one attempt
        return [*options, ("grpc.enable_retries", 1),
                ("grpc.service_config", retry_service_config(config))]
    return [*options, ("grpc.enable_retries", 0)]


class Transport:
    """Owns the channels; ``call`` and ``stream`` are the only ways out of the client."""

    SERVICES = ("user", "inventory", "orders")

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self._channels: dict[tuple[str, bool], grpc.aio.Channel] = {
            (name, retry): grpc.aio.insecure_channel(
                config.address_of(name), options=channel_options(config, retry=retry))
            for name in self.SERVICES for retry in (True, False)}
        self.token: str | None = None
        self.forwarded_for: str | None = None

    def channel(self, service: str, *, retry: bool = True) -> grpc.aio.Channel:
        """The channel to ``service`` that retries on UNAVAILABLE, or the one that never does."""
        return self._channels[(service, retry)]

    def with_token(self, token: str | None, *, forwarded_for: str | None = None) -> Transport:
        """A transport over the same channels that sends ``token`` and, for a server calling
        on someone's behalf, their address as ``x-forwarded-for``."""
        other = copy.copy(self)
        other.token = token
        other.forwarded_for = forwarded_for
        return other

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close(None)

    def metadata(self) -> Metadata:
        sent: Metadata = (("authorization", f"Bearer {self.token}"),) if self.token else ()
        if self.forwarded_for:
            sent += (("x-forwarded-for", self.forwarded_for),)
        return sent

    async def call(self, service: str, method: Callable[..., Any], request: Req, *,
                   deadline: float | None = None) -> Any:
        """Send one unary request to ``service`` with the deadline; map any failure."""
        seconds = self.config.timeout if deadline is None else deadline
        try:
            return await method(request, timeout=seconds, metadata=self.metadata())
        except grpc.aio.AioRpcError as exc:
            raise map_rpc_error(exc, service=service,
                                address=self.config.address_of(service)) from exc

    async def stream(self, service: str, method: Callable[..., Any], request: Req, *,
                     deadline: float | None = None) -> AsyncIterator[Any]:
        """Yield a server stream's messages; reopen it if it breaks with UNAVAILABLE after
        answering.

        gRPC retries a stream only until its first message. Reopening later is safe for the
        streams the client uses (WatchOrder sends the current state first), so a caller may see
        that state twice, never miss a change. The reopened call goes through the retry policy
        like any other, so no wait is needed here; a stream that breaks again before answering
        ends with the error.
        """
        seconds = self.config.watch_timeout if deadline is None else deadline
        while True:
            answered = False
            call = method(request, timeout=seconds, metadata=self.metadata())
            try:
                async for message in call:
                    answered = True
                    yield message
                return
            except grpc.aio.AioRpcError as exc:
                if not (answered and exc.code() is grpc.StatusCode.UNAVAILABLE):
                    raise map_rpc_error(exc, service=service,
                                        address=self.config.address_of(service)) from exc
            finally:
                call.cancel()
