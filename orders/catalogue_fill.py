"""Filling orders' catalogue read model from inventory's listing, and rebuilding it.

Events keep the read model current, but only from the moment orders' queue was bound to
them: a fresh orders database, or one that missed events (a purged queue, a restore from
backup), needs the catalogue as it is. A fill pages through inventory's ``ListBooks`` and
keeps each book unless a newer entry is already held, so it may run while events flow
(the queue is bound before a fill starts, so nothing falls between the two).

On start, orders fills in the background until one fill has completed (a marker in its
database, not "the collection is empty": a crash mid-fill, or an event that arrived first,
must not count as filled); an unreachable inventory is retried with backoff. An operator
rebuilds on demand, with the service running or not::

    python -m orders rebuild-catalogue
"""

from __future__ import annotations

import logging

import grpc
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_never,
    wait_exponential,
)

from contracts.bookstore.inventory.v1 import inventory_pb2 as inv
from contracts.bookstore.inventory.v1 import inventory_pb2_grpc as inv_grpc
from orders.catalogue_store import CatalogueStore
from orders.pricing import BookInfo

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # the most ListBooks gives in one page
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, grpc.aio.AioRpcError) and exc.code() in RETRYABLE


class CatalogueFill:
    """Copies inventory's catalogue into orders' read model, page by page."""

    def __init__(self, store: CatalogueStore, channel: grpc.aio.Channel, *,
                 deadline: float = 10.0, attempts: int | None = None,
                 max_wait: float = 5.0, page_size: int = PAGE_SIZE) -> None:
        """``attempts`` per page on UNAVAILABLE / DEADLINE_EXCEEDED: ``None`` never gives up
        (the background fill waits for inventory as long as it takes)."""
        self._store = store
        self._stub = inv_grpc.InventoryServiceStub(channel)
        self._deadline = deadline
        self._attempts = attempts
        self._max_wait = max_wait
        self._page_size = page_size

    async def fill(self) -> int:
        """One pass over the whole listing, then the completion marker; the books seen."""
        seen, token = 0, ""
        while True:
            page = await self._page(token)
            await self._store.apply_listing(
                BookInfo(id=b.id, title=b.title, price_cents=b.price_cents, version=b.version)
                for b in page.books)
            seen += len(page.books)
            token = page.next_page_token
            if not token:
                break
        await self._store.mark_filled()
        log.info("catalogue filled from inventory", extra={"books": seen})
        return seen

    async def fill_unless_filled(self) -> None:
        """The start-up fill: nothing to do once any fill has completed."""
        if await self._store.filled_at() is None:
            await self.fill()

    async def _page(self, token: str) -> inv.ListBooksResponse:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts) if self._attempts else stop_never,
            wait=wait_exponential(multiplier=0.2, max=self._max_wait),
            retry=retry_if_exception(_retryable),
            before_sleep=_log_unavailable,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                response: inv.ListBooksResponse = await self._stub.ListBooks(
                    inv.ListBooksRequest(page_size=self._page_size, page_token=token),
                    timeout=self._deadline)
        return response


def _log_unavailable(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    code = error.code().name if isinstance(error, grpc.aio.AioRpcError) else ""
    log.warning("inventory unavailable; the catalogue fill tries again",
                extra={"attempt": state.attempt_number, "code": code})
