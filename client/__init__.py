"""The Bookstore client library and the ``bookstore`` command.

    from client import BookstoreClient

    async with BookstoreClient.from_env() as bs:
        await bs.login("ada@example.com", "correct horse")
        page = await bs.search_books("tolkien", in_stock=True)
"""

from client._catalogue import (
    BookRow,
    ImportReport,
    Outcome,
    RowResult,
    import_books,
    parse_row,
    read_rows,
    sample_catalogue,
)
from client._client import BookstoreClient
from client._config import ClientConfig
from client._errors import (
    AuthenticationError,
    BookstoreClientError,
    ConflictError,
    DeadlineExceededError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServiceUnavailableError,
    map_rpc_error,
)
from client._models import (
    BOOK_SORTS,
    FINAL_STATUSES,
    MESSAGING_SERVICES,
    ORDER_STATUSES,
    OUTCOME_STATUSES,
    Availability,
    Book,
    BookPage,
    DeadLetter,
    DeadLetterPage,
    FailedOutboxEvent,
    FailedOutboxPage,
    Order,
    OrderPage,
    OrderStatus,
    Session,
    User,
    role_name,
    status_name,
    to_dict,
)
from client._parsing import OrderLine, format_cents, parse_line, parse_lines, parse_price
from client._seed import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD, admin_credentials, seed
from client._session import SessionStore, StoredSession, config_dir
from client._timeline import OrderTimeline, TimelineStep

__all__ = [
    "BOOK_SORTS",
    "DEV_ADMIN_EMAIL",
    "DEV_ADMIN_PASSWORD",
    "FINAL_STATUSES",
    "MESSAGING_SERVICES",
    "ORDER_STATUSES",
    "OUTCOME_STATUSES",
    "AuthenticationError",
    "Availability",
    "Book",
    "BookPage",
    "BookRow",
    "BookstoreClient",
    "BookstoreClientError",
    "ClientConfig",
    "ConflictError",
    "DeadLetter",
    "DeadLetterPage",
    "DeadlineExceededError",
    "FailedOutboxEvent",
    "FailedOutboxPage",
    "FailedPreconditionError",
    "ImportReport",
    "InvalidArgumentError",
    "NotFoundError",
    "Order",
    "OrderLine",
    "OrderPage",
    "OrderStatus",
    "OrderTimeline",
    "Outcome",
    "PermissionDeniedError",
    "RateLimitedError",
    "RowResult",
    "ServiceUnavailableError",
    "Session",
    "SessionStore",
    "StoredSession",
    "TimelineStep",
    "User",
    "admin_credentials",
    "config_dir",
    "format_cents",
    "import_books",
    "map_rpc_error",
    "parse_line",
    "parse_lines",
    "parse_price",
    "parse_row",
    "read_rows",
    "role_name",
    "sample_catalogue",
    "seed",
    "status_name",
    "to_dict",
]
