"""``MessagingAdmin``: one service's dead letters and failed outbox events, for admins.

Every service in the saga serves it the same way, over its own :class:`saga.SagaOperations`::

    async with messaging_admin(saga.operations, verifier) as admin:
        yield [service.binding(), admin]

While it runs, the ``bookstore_dead_letters{queue}`` gauge follows the number of dead
letters kept, so the alert fires while any is there, whoever dead-lettered it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from google.protobuf.json_format import MessageToJson
from google.protobuf.timestamp_pb2 import Timestamp
from pymongo.errors import PyMongoError

from contracts.bookstore.messaging.v1 import messaging_pb2 as pb
from contracts.bookstore.messaging.v1 import messaging_pb2_grpc as pb_grpc
from runtime import pagetokens
from runtime.auth import TokenVerifier
from runtime.errors import InvalidArgument, NotFound, Unavailable
from runtime.metrics import DEAD_LETTERS
from runtime.server import ServiceBinding
from saga import DeadLetterRecord, FailedEvent, PublishFailed, SagaOperations

log = logging.getLogger(__name__)

Context = grpc.aio.ServicerContext[Any, Any]
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_ID_CHARS = 200
GAUGE_INTERVAL = 15.0  # seconds; about one Prometheus scrape
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_LATEST_MILLIS = (datetime(9999, 12, 31, tzinfo=UTC) - _EPOCH) // _MS
_FIELDS = frozenset({"t", "i"})


class MessagingAdminService(pb_grpc.MessagingAdminServicer):
    def __init__(self, operations: SagaOperations, verifier: TokenVerifier) -> None:
        self._ops = operations
        self._verifier = verifier

    def binding(self) -> ServiceBinding:
        name = pb.DESCRIPTOR.services_by_name["MessagingAdmin"].full_name
        return ServiceBinding(name, self, pb_grpc.add_MessagingAdminServicer_to_server)

    async def ListDeadLetters(self, request: pb.ListDeadLettersRequest, context: Context
                              ) -> pb.ListDeadLettersResponse:
        self._verifier.authenticate(context).require_admin()
        size = pagetokens.page_size(request.page_size, default=DEFAULT_PAGE_SIZE,
                                    maximum=MAX_PAGE_SIZE)
        query = pagetokens.query_digest("dead-letters", self._ops.topology.queue)
        records = await self._ops.dead_letters(
            limit=size + 1, after=decode_token(request.page_token, query))
        token = encode_token(records[size - 1].cursor, query) if len(records) > size else ""
        return pb.ListDeadLettersResponse(
            dead_letters=[dead_letter_proto(r) for r in records[:size]], next_page_token=token)

    async def GetDeadLetter(self, request: pb.DeadLetterIDRequest, context: Context
                            ) -> pb.DeadLetterResponse:
        self._verifier.authenticate(context).require_admin()
        record = await self._ops.dead_letter(record_id(request.id))
        if record is None:
            raise NotFound(f"no dead letter {request.id!r} in {self._ops.topology.queue}")
        message = dead_letter_proto(record)
        message.headers.update({k: str(v) for k, v in record.headers.items()})
        message.payload = record.payload
        event = self._ops.decode(record)
        if event is not None:
            message.decoded_json = MessageToJson(event, preserving_proto_field_name=True)
        return pb.DeadLetterResponse(dead_letter=message)

    async def ReplayDeadLetters(self, request: pb.ReplayDeadLettersRequest, context: Context
                                ) -> pb.ReplayDeadLettersResponse:
        self._verifier.authenticate(context).require_admin()
        if request.all == bool(request.id):
            raise InvalidArgument("id", "give one dead letter's id, or set all (not both)")
        try:
            if request.all:
                replayed = await self._ops.replay_all()
            elif await self._ops.replay(record_id(request.id)):
                replayed = 1
            else:
                raise NotFound(f"no dead letter {request.id!r} in {self._ops.topology.queue} "
                               "(replayed or purged already?)")
        except PublishFailed as exc:
            raise Unavailable(f"the broker did not take the replay; the dead letters are "
                              f"kept, retry: {exc}") from None
        log.info("dead letters replayed", extra={"count": replayed,
                                                 "queue": self._ops.topology.queue})
        return pb.ReplayDeadLettersResponse(replayed=replayed)

    async def PurgeDeadLetters(self, request: pb.PurgeDeadLettersRequest, context: Context
                               ) -> pb.PurgeDeadLettersResponse:
        self._verifier.authenticate(context).require_admin()
        purged = await self._ops.purge()
        log.warning("dead letters purged", extra={"count": purged,
                                                  "queue": self._ops.topology.queue})
        return pb.PurgeDeadLettersResponse(purged=purged)

    async def ListFailedOutbox(self, request: pb.ListFailedOutboxRequest, context: Context
                               ) -> pb.ListFailedOutboxResponse:
        self._verifier.authenticate(context).require_admin()
        size = pagetokens.page_size(request.page_size, default=DEFAULT_PAGE_SIZE,
                                    maximum=MAX_PAGE_SIZE)
        query = pagetokens.query_digest("failed-outbox", self._ops.topology.queue)
        events = await self._ops.failed_events(
            limit=size + 1, after=decode_token(request.page_token, query))
        token = (encode_token((events[size - 1].created_at, events[size - 1].id), query)
                 if len(events) > size else "")
        return pb.ListFailedOutboxResponse(events=[failed_proto(e) for e in events[:size]],
                                           next_page_token=token)

    async def RetryFailedOutbox(self, request: pb.RetryFailedOutboxRequest, context: Context
                                ) -> pb.RetryFailedOutboxResponse:
        self._verifier.authenticate(context).require_admin()
        if request.all == bool(request.ids):
            raise InvalidArgument("ids", "give the failed events' ids, or set all (not both)")
        ids = None if request.all else [record_id(i, field="ids") for i in request.ids]
        retried = await self._ops.retry_failed_events(ids)
        if ids is not None and retried == 0:
            raise NotFound("none of these ids is a failed outbox event here")
        log.info("failed outbox events retried", extra={"count": retried})
        return pb.RetryFailedOutboxResponse(retried=retried)


def dead_letter_proto(record: DeadLetterRecord) -> pb.DeadLetter:
    return pb.DeadLetter(
        id=record.id, type=record.type, correlation_id=record.correlation_id or "",
        error=record.error, attempts=record.attempts,
        dead_lettered_at=_timestamp(record.dead_lettered_at), queue=record.queue,
        content_type=record.content_type or "")


def failed_proto(event: FailedEvent) -> pb.FailedOutboxEvent:
    return pb.FailedOutboxEvent(id=event.id, name=event.name,
                                correlation_id=event.correlation_id, error=event.error,
                                attempts=event.attempts, created_at=_timestamp(event.created_at))


def _timestamp(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def record_id(value: str, *, field: str = "id") -> str:
    if not value.strip():
        raise InvalidArgument(field, "is empty: give a message id from the listing")
    if len(value) > MAX_ID_CHARS:
        raise InvalidArgument(field, f"is longer than {MAX_ID_CHARS} characters: no message "
                                     "id is")
    return value




def encode_token(cursor: tuple[datetime, str], query: str) -> str:
    at, last = cursor
    return pagetokens.pack(query, {"t": (at - _EPOCH) // _MS, "i": last})


def decode_token(token: str, query: str) -> tuple[datetime, str] | None:
    if not token:
        return None
    body = pagetokens.unpack(token, query, _FIELDS)
    millis, last = body["t"], body["i"]
    if not (isinstance(millis, int) and 0 <= millis <= _LATEST_MILLIS
            and isinstance(last, str) and 0 < len(last) <= MAX_ID_CHARS):
        raise pagetokens.damaged()
    return _EPOCH + millis * _MS, last


async def follow_dead_letters(operations: SagaOperations, *,
                              interval: float = GAUGE_INTERVAL) -> None:
    """Keep the dead-letter gauge at the number kept, until cancelled."""
    gauge = DEAD_LETTERS.labels(operations.topology.dead_queue)
    while True:
        try:
            gauge.set(await operations.dead_letter_count())
        except PyMongoError as exc:  # the database is away: keep the last count, try again
            log.warning("dead letters not counted", extra={"error": repr(exc)})
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def messaging_admin(operations: SagaOperations, verifier: TokenVerifier, *,
                          gauge_interval: float = GAUGE_INTERVAL
                          ) -> AsyncIterator[ServiceBinding]:
    """The service's binding, with the dead-letter gauge followed while it is in use."""
    task = asyncio.create_task(follow_dead_letters(operations, interval=gauge_interval),
                               name="dead-letter-gauge")
    try:
        yield MessagingAdminService(operations, verifier).binding()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
