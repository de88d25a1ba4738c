"""Health that tracks dependencies: named probes, run every few seconds, each with a timeout.

A service is SERVING only while every probe of its dependencies (its MongoDB, its broker)
passes; a load balancer or Kubernetes then stops sending it calls it could only fail. A probe
is any ``async () -> bool``: ``True`` when the dependency answered, ``False`` or an exception
when not. Every probe runs as a task of its own under its own timeout, all of one round side
by side, so a hung probe (a black-holed TCP connection) neither delays the others nor the next
round; one that ignores cancellation is abandoned, and counts as failing until it ends.

Detection takes at most ``interval + 2 * timeout``: a dependency lost just after a probe
passed is noticed when the next round's probe times out (6 s with the defaults). Each change
of a dependency is logged once, not every round, and shown by ``bookstore_dependency_up``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from runtime.metrics import DEPENDENCY_UP

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[bool]]
"""``True`` when the dependency answered; ``False`` or any exception means it did not."""

OnChange = Callable[[bool], Awaitable[None]]

DEFAULT_INTERVAL = 2.0
DEFAULT_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class Dependency:
    """Something the service cannot work without, and how to tell it is there."""

    name: str  # "mongodb", "broker": the metric label and the log's words
    probe: Probe


class DependencyMonitor:
    """Probes every dependency each ``interval`` seconds and reports when all pass, or not.

    ``on_change(True|False)`` is awaited once after the first round and then only when the
    verdict changes. :meth:`stop` ends the rounds for good: nothing is reported after it.
    """

    def __init__(self, dependencies: Sequence[Dependency], on_change: OnChange, *,
                 interval: float = DEFAULT_INTERVAL, timeout: float = DEFAULT_TIMEOUT) -> None:
        if interval <= 0 or timeout <= 0:
            raise ValueError("the probe interval and timeout must be positive")
        self._dependencies = list(dependencies)
        self._on_change = on_change
        self._interval = interval
        self._timeout = timeout
        self._up: dict[str, bool] = {}
        # Each dependency's last probe, which may still be out (timed out, deaf to cancel).
        self._running: dict[str, asyncio.Task[tuple[bool, str]]] = {}
        self._healthy: bool | None = None
        self._loop: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def healthy(self) -> bool | None:
        """Whether every dependency passed the last round; ``None`` before the first."""
        return self._healthy

    async def start(self) -> None:
        """Run a first round, report it, then keep probing in the background."""
        await self.check()
        if self._dependencies:
            self._loop = asyncio.create_task(self._run(), name="dependency-monitor")

    async def stop(self) -> None:
        self._stopped = True
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        for task in self._running.values():
            task.cancel()

    async def check(self) -> bool:
        """Probe every dependency once, side by side; report the verdict if it changed."""
        results = await asyncio.gather(*(self._probe(d) for d in self._dependencies))
        healthy = all(results)
        if healthy != self._healthy and not self._stopped:
            self._healthy = healthy
            await self._on_change(healthy)
        return healthy

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.check()

    async def _probe(self, dependency: Dependency) -> bool:
        previous = self._running.get(dependency.name)
        if previous is not None and not previous.done():
            self._record(dependency, False, "the previous probe has not ended")
            return False
        task = asyncio.create_task(_passes(dependency.probe), name=f"probe-{dependency.name}")
        self._running[dependency.name] = task
        done, _ = await asyncio.wait({task}, timeout=self._timeout)
        if not done:
            task.cancel()  # not awaited: a probe deaf to cancellation must not hold us up
            self._record(dependency, False, f"no answer within {self._timeout:g} s")
            return False
        up, reason = task.result()
        self._record(dependency, up, reason)
        return up

    def _record(self, dependency: Dependency, up: bool, reason: str) -> None:
        DEPENDENCY_UP.labels(dependency.name).set(1 if up else 0)
        if self._up.get(dependency.name) == up:
            return
        first = dependency.name not in self._up
        self._up[dependency.name] = up
        if not up:
            log.warning("dependency down", extra={"dependency": dependency.name,
                                                  "reason": reason})
        elif not first:
            log.info("dependency up again", extra={"dependency": dependency.name})


async def _passes(probe: Probe) -> tuple[bool, str]:
    """The probe's verdict and, when it failed, why."""
    try:
        up = await probe()
    except Exception as exc:  # any failure of the probe means the dependency is not there
        return False, f"{type(exc).__name__}: {exc}"[:300]
    return bool(up), "" if up else "the probe said no"
