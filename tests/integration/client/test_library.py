"""The library on its own: idempotent placement, watching, paging, token handling."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from client import (
    OUTCOME_STATUSES,
    AuthenticationError,
    BookstoreClient,
    ClientConfig,
    OrderLine,
    ServiceUnavailableError,
    status_name,
)
from tests.integration.client.conftest import Stack, client_env, free_port

pytestmark = pytest.mark.integration


def config(stack: Stack, **changes: Any) -> ClientConfig:
    return ClientConfig.from_env(client_env(stack)).model_copy(update=changes)


async def test_place_order_retried_with_one_key_is_one_order(seeded: Stack) -> None:
    email = f"lib-{uuid.uuid4().hex[:8]}@example.com"
    async with BookstoreClient(config(seeded)) as bs:
        with pytest.raises(AuthenticationError):
            await bs.get_user()
        await bs.register("Lib Reader", email, "library passphrase")
        await bs.login(email, "library passphrase")
        assert (await bs.get_user()).email == email

        page = await bs.list_books(in_stock=True, sort="price", page_size=3)
        assert len(page.books) == 3
        assert page.next_page_token
        following = await bs.list_books(in_stock=True, sort="price", page_size=3,
                                        page_token=page.next_page_token)
        assert not {b.id for b in page.books} & {b.id for b in following.books}

        book = page.books[0]
        key = uuid.uuid4().hex
        first = await bs.place_order([OrderLine(book.id, 1)], idempotency_key=key)
        second = await bs.place_order([OrderLine(book.id, 1)], idempotency_key=key)
        assert first.id == second.id

        statuses = []
        async for order in bs.watch_order(first.id, deadline=30):
            statuses.append(status_name(order.status))
            if order.status in OUTCOME_STATUSES:
                break
        assert statuses[-1] == "CONFIRMED"
        history = await bs.order_history()
        assert [o.id for o in history.orders] == [first.id]


async def test_unreachable_service_fails_after_bounded_retries(seeded: Stack) -> None:
    address = f"127.0.0.1:{free_port()}"
    async with BookstoreClient(config(seeded, inventory_addr=address, retry_attempts=3,
                                      retry_initial_wait=0.01)) as bs:
        with pytest.raises(ServiceUnavailableError) as caught:
            await bs.get_book("000000000000000000000000")
    assert caught.value.address == address
    assert caught.value.service == "inventory"
