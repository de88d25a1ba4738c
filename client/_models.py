"""What the client hands back: the contracts' own messages, plus pages and name tables.

Results are the generated protobuf messages (typed by their ``.pyi`` stubs), so nothing is
copied field by field and a new proto field reaches callers without a client change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, cast

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from contracts.bookstore.inventory.v1 import inventory_pb2
from contracts.bookstore.messaging.v1 import messaging_pb2
from contracts.bookstore.orders.v1 import orders_pb2
from contracts.bookstore.user.v1 import user_pb2

User = user_pb2.User
Book = inventory_pb2.Book
Availability = inventory_pb2.AvailabilityResponse
Order = orders_pb2.Order
OrderStatus = orders_pb2.OrderStatus
Session = user_pb2.AuthResponse
DeadLetter = messaging_pb2.DeadLetter
FailedOutboxEvent = messaging_pb2.FailedOutboxEvent

#: The services that take part in the saga, so keep dead letters and an outbox.
MESSAGING_SERVICES = ("inventory", "orders")

#: ``--sort`` names → the proto enum.
BOOK_SORTS: dict[str, inventory_pb2.BookSort.ValueType] = {
    "title": inventory_pb2.BOOK_SORT_TITLE,
    "author": inventory_pb2.BOOK_SORT_AUTHOR,
    "price": inventory_pb2.BOOK_SORT_PRICE_ASC,
    "price-desc": inventory_pb2.BOOK_SORT_PRICE_DESC,
    "newest": inventory_pb2.BOOK_SORT_NEWEST,
}

#: Status names as people write them (``confirmed``) → the proto enum.
ORDER_STATUSES: dict[str, orders_pb2.OrderStatus.ValueType] = {
    name.removeprefix("ORDER_STATUS_").lower(): value
    for name, value in orders_pb2.OrderStatus.items() if value != 0
}

#: Statuses after which an order never changes again.
FINAL_STATUSES = frozenset({orders_pb2.ORDER_STATUS_COMPLETED, orders_pb2.ORDER_STATUS_REJECTED,
                            orders_pb2.ORDER_STATUS_CANCELLED})
#: Statuses that end the saga: the order was accepted, refused or withdrawn.
OUTCOME_STATUSES = FINAL_STATUSES | {orders_pb2.ORDER_STATUS_CONFIRMED,
                                     orders_pb2.ORDER_STATUS_SHIPPED}


def status_name(status: int) -> str:
    """``ORDER_STATUS_CONFIRMED`` → ``CONFIRMED``."""
    try:
        return orders_pb2.OrderStatus.Name(status).removeprefix("ORDER_STATUS_")  # type: ignore[arg-type]
    except ValueError:
        return str(status)


def role_name(role: int) -> str:
    try:
        return user_pb2.Role.Name(role).removeprefix("ROLE_").lower()  # type: ignore[arg-type]
    except ValueError:
        return str(role)


def to_dict(message: Message) -> dict[str, Any]:
    """A message as JSON-ready data for people and scripts, not the proto3 JSON mapping.

    Field names as in the proto and zero values included; 64-bit integers (cents,
    quantities) as numbers rather than proto JSON's strings; enums by the names the tables
    show (``CONFIRMED``, ``admin``); timestamps as RFC 3339 strings.
    """
    data = MessageToDict(message, preserving_proto_field_name=True,
                         always_print_fields_with_no_presence=True)
    return _plain(cast(Descriptor, message.DESCRIPTOR), data)


_INT64_TYPES = frozenset({FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT64,
                          FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_FIXED64,
                          FieldDescriptor.TYPE_SFIXED64})


def _plain(descriptor: Descriptor, data: dict[str, Any]) -> dict[str, Any]:
    for name, value in data.items():
        spec = descriptor.fields_by_name.get(name)
        if spec is None:
            continue
        if isinstance(value, list):
            data[name] = [_plain_value(spec, item) for item in value]
        else:
            data[name] = _plain_value(spec, value)
    return data


def _plain_value(spec: FieldDescriptor, value: Any) -> Any:
    if spec.message_type is not None:
        is_own = not spec.message_type.full_name.startswith("google.protobuf.")
        return _plain(spec.message_type, value) if is_own and isinstance(value, dict) else value
    if spec.type in _INT64_TYPES:
        return int(value)
    if spec.enum_type is not None:
        return enum_label(spec.enum_type, value)
    return value


def enum_label(enum: EnumDescriptor, value: str | int) -> str:
    """An enum value as the CLI shows it: ``ORDER_STATUS_SHIPPED`` → ``SHIPPED``."""
    number = enum.values_by_name[value].number if isinstance(value, str) else value
    if enum.full_name == orders_pb2.OrderStatus.DESCRIPTOR.full_name:
        return status_name(number)
    if enum.full_name == user_pb2.Role.DESCRIPTOR.full_name:
        return role_name(number)
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"
    label = enum.values_by_number[number].name if number in enum.values_by_number else value
    return str(label).removeprefix(prefix)


@dataclass(frozen=True, slots=True)
class BookPage:
    books: list[Book] = field(default_factory=list)
    #: Pass to the next call to continue; empty on the last page.
    next_page_token: str = ""


@dataclass(frozen=True, slots=True)
class OrderPage:
    orders: list[Order] = field(default_factory=list)
    next_page_token: str = ""


@dataclass(frozen=True, slots=True)
class DeadLetterPage:
    dead_letters: list[DeadLetter] = field(default_factory=list)
    next_page_token: str = ""


@dataclass(frozen=True, slots=True)
class FailedOutboxPage:
    events: list[FailedOutboxEvent] = field(default_factory=list)
    next_page_token: str = ""
