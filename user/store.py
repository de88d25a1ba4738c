"""The only module that talks to MongoDB: accounts, login failures and reset tokens.

Collections (one database per service):

- ``users``: one document per account; a unique index on the normalized ``email`` makes
  registration race-free (the second insert fails with a duplicate key).
- ``login_failures``: ``{email, client, at}`` per failed login (``client`` is the caller's
  address), indexed by (email, at) and (email, client, at) for counting per email and per
  address and email, with a TTL index on ``at`` so old failures clean themselves up.
- ``password_resets``: the SHA-256 of each reset token with its expiry; consumed by a
  conditional update so a token works once even under concurrent use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from runtime.auth import Role
from runtime.mongo import Document
from user.errors import EmailTaken
from user.model import ResetTicket, UserRecord

INDEX_OPTIONS_CONFLICT = (85, 86)  # IndexOptionsConflict, IndexKeySpecsConflict


def object_id(user_id: str) -> ObjectId | None:
    """The ObjectId for a hex id, or None when it cannot name any document."""
    try:
        return ObjectId(user_id)
    except (InvalidId, TypeError):
        return None


class UserStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._users = db["users"]

    async def create_indexes(self) -> None:
        await self._users.create_index([("email", ASCENDING)], unique=True, name="email_unique")

    async def insert(self, *, name: str, email: str, password_hash: str, role: Role,
                     now: datetime) -> UserRecord:
        doc: Document = {"name": name, "email": email, "password_hash": password_hash,
                         "role": role.value, "created_at": now, "updated_at": now}
        try:
            result = await self._users.insert_one(doc)
        except DuplicateKeyError:
            raise EmailTaken() from None
        doc["_id"] = result.inserted_id
        return _to_record(doc)

    async def get(self, user_id: str) -> UserRecord | None:
        oid = object_id(user_id)
        if oid is None:
            return None
        doc = await self._users.find_one({"_id": oid})
        return None if doc is None else _to_record(doc)

    async def get_by_email(self, email: str) -> UserRecord | None:
        doc = await self._users.find_one({"email": email})
        return None if doc is None else _to_record(doc)

    async def update(self, user_id: str, changes: dict[str, Any],
                     now: datetime) -> UserRecord | None:
        """Apply ``changes`` and return the account as it is now; None if it does not exist."""
        oid = object_id(user_id)
        if oid is None:
            return None
        try:
            result = await self._users.update_one(
                {"_id": oid}, {"$set": {**changes, "updated_at": now}})
        except DuplicateKeyError:
            raise EmailTaken() from None
        if result.matched_count == 0:
            return None
        return await self.get(user_id)

    async def set_role(self, user_id: str, role: Role, now: datetime) -> UserRecord | None:
        return await self.update(user_id, {"role": role.value}, now)

    async def delete(self, user_id: str) -> bool:
        oid = object_id(user_id)
        if oid is None:
            return False
        result = await self._users.delete_one({"_id": oid})
        return result.deleted_count == 1


class LoginFailureStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db
        self._failures = db["login_failures"]

    async def create_indexes(self, ttl_seconds: int) -> None:
        await self._failures.create_index(
            [("email", ASCENDING), ("at", ASCENDING)], name="email_at")
        await self._failures.create_index(
            [("email", ASCENDING), ("client", ASCENDING), ("at", ASCENDING)],
            name="email_client_at")
        await _ensure_ttl_index(self._db, "login_failures", "at", ttl_seconds)

    async def record(self, email: str, client: str, at: datetime) -> str:
        result = await self._failures.insert_one({"email": email, "client": client, "at": at})
        return str(result.inserted_id)

    async def forget(self, failure_id: str) -> None:
        await self._failures.delete_one({"_id": ObjectId(failure_id)})

    async def since(self, email: str, start: datetime, *, client: str | None = None,
                    excluding: str | None = None, limit: int = 0) -> list[datetime]:
        """Failures for ``email`` after ``start`` (from ``client`` only, if named), oldest
        first; with ``limit``, only that many of the newest."""
        query: Document = {"email": email, "at": {"$gt": start}}
        if client is not None:
            query["client"] = client
        if excluding is not None:
            query["_id"] = {"$ne": ObjectId(excluding)}
        cursor = self._failures.find(query, {"at": 1, "_id": 0}).sort("at", DESCENDING)
        return sorted([doc["at"] async for doc in cursor.limit(limit)])

    async def clear(self, email: str, client: str | None = None) -> None:
        """Forget ``email``'s failures: those from ``client`` only, if named, else all."""
        query: Document = {"email": email}
        if client is not None:
            query["client"] = client
        await self._failures.delete_many(query)


class ResetTokenStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._resets = db["password_resets"]

    async def create_indexes(self) -> None:
        await self._resets.create_index(
            [("token_hash", ASCENDING)], unique=True, name="token_hash_unique")
        await self._resets.create_index([("user_id", ASCENDING)], name="user_id")
        # Expired tokens are useless; MongoDB removes them once past ``expires_at``.
        await self._resets.create_index(
            [("expires_at", ASCENDING)], expireAfterSeconds=0, name="expires_at_ttl")

    async def replace(self, user_id: str, token_hash: str, *, expires_at: datetime,
                      now: datetime) -> None:
        """Store a new token for ``user_id``; any earlier unused token stops working."""
        await self._resets.delete_many({"user_id": user_id, "used_at": None})
        await self._resets.insert_one({"user_id": user_id, "token_hash": token_hash,
                                       "created_at": now, "expires_at": expires_at,
                                       "used_at": None})

    async def find(self, token_hash: str) -> ResetTicket | None:
        doc = await self._resets.find_one({"token_hash": token_hash})
        if doc is None:
            return None
        return ResetTicket(id=str(doc["_id"]), user_id=doc["user_id"],
                           expires_at=doc["expires_at"], used=doc["used_at"] is not None)

    async def consume(self, ticket_id: str, now: datetime) -> bool:
        """Mark the token used if it still is unused and unexpired; True only for the winner."""
        result = await self._resets.update_one(
            {"_id": ObjectId(ticket_id), "used_at": None, "expires_at": {"$gt": now}},
            {"$set": {"used_at": now}})
        return result.modified_count == 1

    async def discard_for(self, user_id: str) -> None:
        """Forget every token of an account whose password changed or that was deleted."""
        await self._resets.delete_many({"user_id": user_id})


async def _ensure_ttl_index(db: AsyncDatabase[Document], collection: str, field: str,
                            seconds: int) -> None:
    """Create a TTL index, or change its lifetime if a different setting made it before."""
    name = f"{field}_ttl"
    try:
        await db[collection].create_index([(field, ASCENDING)], expireAfterSeconds=seconds,
                                          name=name)
    except OperationFailure as exc:
        if exc.code not in INDEX_OPTIONS_CONFLICT:
            raise
        await db.command("collMod", collection,
                         index={"name": name, "expireAfterSeconds": seconds})


def _to_record(doc: Document) -> UserRecord:
    return UserRecord(id=str(doc["_id"]), name=doc["name"], email=doc["email"],
                      role=Role(doc["role"]), created_at=doc["created_at"],
                      updated_at=doc["updated_at"], password_hash=doc["password_hash"])
