"""``BookstoreClient``: one object for the three services, a method per RPC.

    async with BookstoreClient.from_env() as bs:
        await bs.login("ada@example.com", "correct horse")
        page = await bs.list_books(in_stock=True, sort="price")
        order = await bs.place_order([OrderLine(page.books[0].id, 2)])
        async for update in bs.watch_order(order.id):
            print(status_name(update.status))
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncGenerator, Iterable, Mapping
from types import TracebackType
from typing import Self

from client._config import ClientConfig
from client._errors import (
    AuthenticationError,
    DeadlineExceededError,
    InvalidArgumentError,
    NotFoundError,
    ServiceUnavailableError,
)
from client._models import (
    BOOK_SORTS,
    MESSAGING_SERVICES,
    ORDER_STATUSES,
    Availability,
    Book,
    BookPage,
    DeadLetter,
    DeadLetterPage,
    FailedOutboxPage,
    Order,
    OrderPage,
    Session,
    User,
)
from client._parsing import OrderLine
from client._timeline import OrderTimeline, TimelineStep, timeline
from client._transport import Transport
from contracts.bookstore.inventory.v1 import inventory_pb2 as inv
from contracts.bookstore.inventory.v1 import inventory_pb2_grpc as inv_grpc
from contracts.bookstore.messaging.v1 import messaging_pb2 as msg
from contracts.bookstore.messaging.v1 import messaging_pb2_grpc as msg_grpc
from contracts.bookstore.orders.v1 import orders_pb2 as ord_
from contracts.bookstore.orders.v1 import orders_pb2_grpc as ord_grpc
from contracts.bookstore.timeline.v1 import timeline_pb2
from contracts.bookstore.user.v1 import user_pb2, user_pb2_grpc

#: The simulated payment method the order service always approves.
DEFAULT_PAYMENT_TOKEN = "tok_visa"


class BookstoreClient:
    """Async client for the user, inventory and order services; use it as a context manager."""

    def __init__(self, config: ClientConfig | None = None, *, token: str | None = None,
                 user_id: str | None = None) -> None:
        self.config = config or ClientConfig()
        self._transport = Transport(self.config)
        self._transport.token = token
        self.user_id = user_id
        channel = self._transport.channel
        # Calls safe to repeat use the stubs on retrying channels; the rest, the ``_once`` ones.
        self._users = user_pb2_grpc.UserServiceStub(channel("user"))
        self._users_once = user_pb2_grpc.UserServiceStub(channel("user", retry=False))
        self._books = inv_grpc.InventoryServiceStub(channel("inventory"))
        self._books_once = inv_grpc.InventoryServiceStub(channel("inventory", retry=False))
        self._orders = ord_grpc.OrderServiceStub(channel("orders"))
        self._messaging = {name: msg_grpc.MessagingAdminStub(channel(name))
                           for name in MESSAGING_SERVICES}
        self._messaging_once = {name: msg_grpc.MessagingAdminStub(channel(name, retry=False))
                                for name in MESSAGING_SERVICES}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, token: str | None = None,
                 user_id: str | None = None) -> Self:
        return cls(ClientConfig.from_env(env), token=token, user_id=user_id)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        await self._transport.close()

    def acting_as(self, token: str | None, user_id: str | None, *,
                  address: str | None = None) -> Self:
        """This client's channels, another caller's token: a server acting for many people
        keeps one set of connections. Close only the original; it owns the channels.
        ``address`` is that person's own, sent as ``x-forwarded-for`` so the user service
        throttles failed logins per visitor (when it trusts this server to say so)."""
        other = copy.copy(self)
        other._transport = self._transport.with_token(token, forwarded_for=address)
        other.user_id = user_id
        return other

    @property
    def token(self) -> str | None:
        """The access token sent with every call, once logged in."""
        return self._transport.token

    def _me(self, user_id: str | None) -> str:
        if user_id:
            return user_id
        if not self.user_id:
            raise AuthenticationError("not logged in: log in first")
        return self.user_id

    # -- accounts ---------------------------------------------------------------------------

    async def register(self, name: str, email: str, password: str) -> User:
        request = user_pb2.UserRequest(name=name, email=email, password=password)
        reply = await self._transport.call("user", self._users_once.CreateUser, request)
        return reply.user  # type: ignore[no-any-return]

    async def login(self, email: str, password: str) -> Session:
        """Exchange credentials for a token, kept for every later call; returns the session."""
        request = user_pb2.UserAuthRequest(email=email, password=password)
        reply: Session = await self._transport.call("user", self._users.AuthenticateUser,
                                                    request)
        self._transport.token = reply.access_token
        self.user_id = reply.user.id
        return reply

    def logout(self) -> None:
        self._transport.token = None
        self.user_id = None

    async def get_user(self, user_id: str | None = None) -> User:
        """An account: your own by default; any for an admin."""
        request = user_pb2.UserIDRequest(user_id=self._me(user_id))
        reply = await self._transport.call("user", self._users.GetUser, request)
        return reply.user  # type: ignore[no-any-return]

    async def update_user(self, user_id: str | None = None, *, name: str | None = None,
                          email: str | None = None) -> User:
        request = user_pb2.UserUpdateRequest(user_id=self._me(user_id), name=name, email=email)
        reply = await self._transport.call("user", self._users.UpdateUser, request)
        return reply.user  # type: ignore[no-any-return]

    async def delete_user(self, user_id: str | None = None) -> None:
        request = user_pb2.UserIDRequest(user_id=self._me(user_id))
        await self._transport.call("user", self._users_once.DeleteUser, request)

    async def change_password(self, current_password: str, new_password: str) -> None:
        request = user_pb2.ChangePasswordRequest(
            user_id=self._me(None), current_password=current_password, new_password=new_password)
        await self._transport.call("user", self._users_once.ChangePassword, request)

    async def request_password_reset(self, email: str) -> None:
        """Ask for a reset token by mail; answers the same whether the account exists or not."""
        request = user_pb2.PasswordResetRequest(email=email)
        await self._transport.call("user", self._users_once.RequestPasswordReset, request)

    async def reset_password(self, email: str, reset_token: str, new_password: str) -> None:
        request = user_pb2.ResetPasswordRequest(email=email, reset_token=reset_token,
                                                new_password=new_password)
        await self._transport.call("user", self._users_once.ResetPassword, request)

    # -- catalogue --------------------------------------------------------------------------

    async def add_book(self, *, title: str, author: str, isbn: str, price_cents: int,
                       stock: int, description: str = "", published_year: int = 0) -> Book:
        """Add a book (admin). A second book with the same ISBN raises ConflictError."""
        request = inv.BookRequest(title=title, author=author, isbn=isbn,
                                  price_cents=price_cents, stock=stock,
                                  description=description, published_year=published_year)
        reply = await self._transport.call("inventory", self._books_once.AddBook, request)
        return reply.book  # type: ignore[no-any-return]

    async def update_book(self, book_id: str, *, title: str | None = None,
                          author: str | None = None, price_cents: int | None = None,
                          description: str | None = None, published_year: int | None = None,
                          set_available: int | None = None,
                          adjust_available: int | None = None) -> Book:
        """Change some fields (admin); stock is either set or adjusted by a delta, not both."""
        if set_available is not None and adjust_available is not None:
            raise InvalidArgumentError("set the stock or adjust it, not both")
        request = inv.BookUpdateRequest(
            book_id=book_id, title=title, author=author, price_cents=price_cents,
            description=description, published_year=published_year)
        if set_available is not None:
            request.set_available = set_available
        if adjust_available is not None:
            request.adjust_available = adjust_available
        # An adjustment adds to the stock: sent twice, it would count twice.
        stub = self._books if adjust_available is None else self._books_once
        reply = await self._transport.call("inventory", stub.UpdateBook, request)
        return reply.book  # type: ignore[no-any-return]

    async def get_book(self, book_id: str) -> Book:
        reply = await self._transport.call("inventory", self._books.GetBookDetails,
                                           inv.BookIDRequest(book_id=book_id))
        return reply.book  # type: ignore[no-any-return]

    async def check_availability(self, book_id: str, quantity: int = 1) -> Availability:
        request = inv.BookIDRequest(book_id=book_id, quantity=quantity)
        reply: Availability = await self._transport.call(
            "inventory", self._books.CheckAvailability, request)
        return reply

    async def list_books(self, *, author: str = "", min_price_cents: int | None = None,
                         max_price_cents: int | None = None, in_stock: bool = False,
                         sort: str = "title", page_size: int = 0,
                         page_token: str = "") -> BookPage:
        """One page of the catalogue; ``sort`` is a key of BOOK_SORTS."""
        request = inv.ListBooksRequest(
            filter=_filter(author, min_price_cents, max_price_cents, in_stock),
            sort=_sort(sort), page_size=page_size, page_token=page_token)
        reply = await self._transport.call("inventory", self._books.ListBooks, request)
        return BookPage(list(reply.books), reply.next_page_token)

    async def search_books(self, query: str, *, author: str = "",
                           min_price_cents: int | None = None,
                           max_price_cents: int | None = None, in_stock: bool = False,
                           sort: str = "title", page_size: int = 0,
                           page_token: str = "") -> BookPage:
        """Words matched against title and author, with the same filters as list_books."""
        request = inv.SearchBooksRequest(
            query=query, filter=_filter(author, min_price_cents, max_price_cents, in_stock),
            sort=_sort(sort), page_size=page_size, page_token=page_token)
        reply = await self._transport.call("inventory", self._books.SearchBooks, request)
        return BookPage(list(reply.books), reply.next_page_token)

    # -- orders -----------------------------------------------------------------------------

    async def place_order(self, lines: Iterable[OrderLine], *,
                          payment_token: str = DEFAULT_PAYMENT_TOKEN,
                          idempotency_key: str | None = None) -> Order:
        """Place an order (it starts PENDING). Retried safely: every attempt carries one key."""
        request = ord_.OrderRequest(
            lines=[ord_.OrderLineRequest(book_id=line.book_id, quantity=line.quantity)
                   for line in lines],
            idempotency_key=idempotency_key or uuid.uuid4().hex, payment_token=payment_token)
        reply = await self._transport.call("orders", self._orders.PlaceOrder, request)
        return reply.order  # type: ignore[no-any-return]

    async def get_order(self, order_id: str) -> Order:
        reply = await self._transport.call("orders", self._orders.GetOrderStatus,
                                           ord_.OrderIDRequest(order_id=order_id))
        return reply.order  # type: ignore[no-any-return]

    async def cancel_order(self, order_id: str) -> Order:
        reply = await self._transport.call("orders", self._orders.CancelOrder,
                                           ord_.OrderIDRequest(order_id=order_id))
        return reply.order  # type: ignore[no-any-return]

    async def order_history(self, user_id: str | None = None, *, page_size: int = 0,
                            page_token: str = "") -> OrderPage:
        """Your orders (any user's for an admin), newest first."""
        request = ord_.UserIDRequest(user_id=self._me(user_id), page_size=page_size,
                                     page_token=page_token)
        reply = await self._transport.call("orders", self._orders.GetOrderHistory, request)
        return OrderPage(list(reply.orders), reply.next_page_token)

    async def update_order_status(self, order_id: str, status: str | int,
                                  reason: str = "") -> Order:
        """Move an order along (admin); ``status`` is a name such as ``shipped`` or the enum."""
        request = ord_.OrderStatusUpdateRequest(order_id=order_id, status=_status(status),
                                                reason=reason)
        reply = await self._transport.call("orders", self._orders.UpdateOrderStatus, request)
        return reply.order  # type: ignore[no-any-return]

    async def order_timeline(self, order_id: str) -> OrderTimeline:
        """Every step of the order's saga in both services, in time order, and what it waits
        for (owner or admin). Built from what the services store: no tracing backend needed.

        Orders answers first (NOT_FOUND for an order you may not see). Inventory not knowing
        the order yet gives no steps; inventory unreachable or not answering in time gives
        the order's steps alone, with ``unavailable == ["inventory"]``: a stuck inventory is
        what a trace is often for.
        """
        request = timeline_pb2.OrderTimelineRequest(order_id=order_id)
        mine = await self._transport.call("orders", self._orders.GetOrderTimeline, request)
        theirs: list[TimelineStep] = []
        unavailable: list[str] = []
        try:
            reply = await self._transport.call("inventory", self._books.GetOrderTimeline,
                                               request)
            theirs = list(reply.steps)
        except NotFoundError:
            pass  # the order has not reached inventory
        except (ServiceUnavailableError, DeadlineExceededError):
            unavailable.append("inventory")
        return timeline(mine.order, mine.steps, theirs, unavailable)

    async def watch_order(self, order_id: str, *,
                          deadline: float | None = None) -> AsyncGenerator[Order, None]:
        """The order now, then each change until it reaches a final state.

        ``deadline`` (seconds) bounds the whole stream; it defaults to the config's
        ``watch_timeout``. To stop early, break and ``await aclose()`` the generator
        (or wrap it in ``contextlib.aclosing``) so the stream is cancelled at once.
        """
        request = ord_.OrderIDRequest(order_id=order_id)
        async for reply in self._transport.stream("orders", self._orders.WatchOrder, request,
                                                  deadline=deadline):
            yield reply.order

    # -- messaging administration (admin; ``service`` is inventory or orders) -------------

    async def list_dead_letters(self, service: str, *, page_size: int = 0,
                                page_token: str = "") -> DeadLetterPage:
        """The messages ``service`` could not handle, newest first."""
        request = msg.ListDeadLettersRequest(page_size=page_size, page_token=page_token)
        reply = await self._transport.call(
            service, self._messaging_stub(service).ListDeadLetters, request)
        return DeadLetterPage(list(reply.dead_letters), reply.next_page_token)

    async def get_dead_letter(self, service: str, dead_letter_id: str) -> DeadLetter:
        """One dead letter with its headers, body, and the body decoded (``decoded_json``)."""
        reply = await self._transport.call(
            service, self._messaging_stub(service).GetDeadLetter,
            msg.DeadLetterIDRequest(id=dead_letter_id))
        return reply.dead_letter  # type: ignore[no-any-return]

    async def replay_dead_letter(self, service: str, dead_letter_id: str) -> int:
        """Send one dead letter back through ``service``'s consumer; returns 1."""
        return await self._replay(service, msg.ReplayDeadLettersRequest(id=dead_letter_id))

    async def replay_dead_letters(self, service: str) -> int:
        """Send every dead letter of ``service`` back through its consumer; returns how many."""
        return await self._replay(service, msg.ReplayDeadLettersRequest(all=True))

    async def _replay(self, service: str, request: msg.ReplayDeadLettersRequest) -> int:
        stub = self._messaging_stub(service, retry=False)
        reply = await self._transport.call(service, stub.ReplayDeadLetters, request)
        return int(reply.replayed)

    async def purge_dead_letters(self, service: str) -> int:
        """Delete every dead letter of ``service``; returns how many there were."""
        reply = await self._transport.call(
            service, self._messaging_stub(service, retry=False).PurgeDeadLetters,
            msg.PurgeDeadLettersRequest())
        return int(reply.purged)

    async def list_failed_outbox(self, service: str, *, page_size: int = 0,
                                 page_token: str = "") -> FailedOutboxPage:
        """Events ``service`` stored but the broker never confirmed, newest first."""
        request = msg.ListFailedOutboxRequest(page_size=page_size, page_token=page_token)
        reply = await self._transport.call(
            service, self._messaging_stub(service).ListFailedOutbox, request)
        return FailedOutboxPage(list(reply.events), reply.next_page_token)

    async def retry_failed_outbox(self, service: str, ids: Iterable[str] | None = None) -> int:
        """Publish failed outbox events again: those named, or all (``None``)."""
        request = (msg.RetryFailedOutboxRequest(all=True) if ids is None
                   else msg.RetryFailedOutboxRequest(ids=list(ids)))
        reply = await self._transport.call(
            service, self._messaging_stub(service).RetryFailedOutbox, request)
        return int(reply.retried)

    def _messaging_stub(self, service: str, *, retry: bool = True) -> msg_grpc.MessagingAdminStub:
        stubs = self._messaging if retry else self._messaging_once
        try:
            return stubs[service]
        except KeyError:
            raise InvalidArgumentError(
                f"unknown service {service!r}: use one of {', '.join(MESSAGING_SERVICES)}"
            ) from None


def _filter(author: str, min_price: int | None, max_price: int | None,
            in_stock: bool) -> inv.BookFilter:
    return inv.BookFilter(author=author, min_price_cents=min_price, max_price_cents=max_price,
                          in_stock_only=in_stock)


def _sort(name: str) -> inv.BookSort.ValueType:
    try:
        return BOOK_SORTS[name]
    except KeyError:
        choices = ", ".join(BOOK_SORTS)
        raise InvalidArgumentError(f"unknown sort {name!r}: use one of {choices}") from None


def _status(status: str | int) -> ord_.OrderStatus.ValueType:
    if isinstance(status, int):
        return status  # type: ignore[return-value]
    key = status.strip().lower().removeprefix("order_status_")
    try:
        return ORDER_STATUSES[key]
    except KeyError:
        choices = ", ".join(ORDER_STATUSES)
        raise InvalidArgumentError(f"unknown status {status!r}: use one of {choices}") from None
