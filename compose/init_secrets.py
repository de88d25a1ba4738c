"""Generates the stack's secrets on first start and hands each container only its own.

Run by docker-compose.yml's one-shot `secrets` service, as root with only CAP_CHOWN, before
anything else starts. Generated values persist in the `secrets-store` volume, which no other
container mounts; every run rewrites the per-container volumes from it, so a restart changes
nothing and a deleted per-container volume is rebuilt. Standard library only (python image).

    /secrets/store/secrets.json            every generated value (root only)
    /secrets/rabbitmq/definitions.json     broker users, hashed, and their permissions
    /secrets/mongo-<svc>/                  keyfile, root-password, service-password (mongod)
    /secrets/<svc>/BOOKSTORE_*             the service's URLs with passwords (its entrypoint)
    /secrets/seed/BOOKSTORE_ADMIN_PASSWORD the seed's login

The bookstore admin password comes from BOOKSTORE_ADMIN_PASSWORD when set (e.g. in a
git-ignored .env); otherwise it is generated and printed once, on the run that creates it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from pathlib import Path

ROOT = Path("/secrets")
MONGO_UID = RABBITMQ_UID = 999  # the official images' users
APP_UID = 10001  # the Dockerfile's bookstore user
SERVICES = ("user", "inventory", "orders")
AMQP_SERVICES = ("inventory", "orders")  # user publishes and consumes no events
PREFIX = "bookstore"


def generated(store: dict[str, str], key: str, make: str = "password") -> tuple[str, bool]:
    """The stored value for ``key``, creating it first if missing; True when just created."""
    if key in store:
        return store[key], False
    if make == "keyfile":  # mongod accepts only base64 characters, 6 to 1024 of them
        store[key] = base64.b64encode(secrets.token_bytes(96)).decode()
    else:
        store[key] = secrets.token_hex(24)
    return store[key], True


def write(path: Path, text: str, uid: int) -> None:
    """``text`` at ``path``, readable by ``uid`` only, replaced atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.chmod(0o400)  # first: once the file is another uid's, changing its mode needs FOWNER
    os.chown(tmp, uid, uid)
    tmp.replace(path)


def rabbitmq_hash(password: str) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    salt = secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def own_names(service: str) -> str:
    """The exchanges and queues a service may touch: the shared topic exchange, its own
    queue and its own dead-letter exchange and queue (saga/_rabbitmq.py)."""
    return rf"^{PREFIX}\.(events|{service}|{service}\.dead)$"


def rabbitmq_definitions(store: dict[str, str]) -> dict[str, object]:
    users: list[dict[str, object]] = [{
        "name": "admin", "password_hash": rabbitmq_hash(store["rabbitmq-admin"]),
        "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["administrator"]}]
    permissions: list[dict[str, str]] = [
        {"user": "admin", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}]
    for service in AMQP_SERVICES:
        users.append({"name": service, "password_hash": rabbitmq_hash(store[f"amqp-{service}"]),
                      "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []})
        names = own_names(service)
        permissions.append({"user": service, "vhost": "/",
                            "configure": names, "write": names, "read": names})
    return {"users": users, "vhosts": [{"name": "/"}], "permissions": permissions}


def main() -> None:
    store_file = ROOT / "store" / "secrets.json"
    store: dict[str, str] = json.loads(store_file.read_text()) if store_file.exists() else {}
    first_time: list[str] = []
    for key in ("rabbitmq-admin", *(f"amqp-{s}" for s in AMQP_SERVICES),
                *(f"mongo-root-{s}" for s in SERVICES), *(f"mongo-{s}" for s in SERVICES)):
        if generated(store, key)[1]:
            first_time.append(key)
    for service in SERVICES:
        generated(store, f"mongo-keyfile-{service}", make="keyfile")
    admin_password = os.environ.get("BOOKSTORE_ADMIN_PASSWORD", "").strip()
    if not admin_password:
        admin_password, created = generated(store, "bookstore-admin")
        if created:
            first_time.append("bookstore-admin")
    write(store_file, json.dumps(store, indent=2, sort_keys=True), 0)

    write(ROOT / "rabbitmq" / "definitions.json",
          json.dumps(rabbitmq_definitions(store), indent=2), RABBITMQ_UID)
    for service in SERVICES:
        mongo = ROOT / f"mongo-{service}"
        write(mongo / "keyfile", store[f"mongo-keyfile-{service}"], MONGO_UID)
        write(mongo / "root-password", store[f"mongo-root-{service}"], MONGO_UID)
        write(mongo / "service-password", store[f"mongo-{service}"], MONGO_UID)
        own = ROOT / service
        write(own / "BOOKSTORE_MONGO_URL",
              f"mongodb://{service}:{store[f'mongo-{service}']}@mongo-{service}:27017/"
              "?directConnection=true&authSource=admin", APP_UID)
        if service in AMQP_SERVICES:
            write(own / "BOOKSTORE_AMQP_URL",
                  f"amqp://{service}:{store[f'amqp-{service}']}@rabbitmq:5672/", APP_UID)
    write(ROOT / "user" / "BOOKSTORE_ADMIN_PASSWORD", admin_password, APP_UID)
    write(ROOT / "seed" / "BOOKSTORE_ADMIN_PASSWORD", admin_password, APP_UID)

    if "bookstore-admin" in first_time:
        print(f"Bookstore admin password (shown once): {admin_password}", flush=True)
    if "rabbitmq-admin" in first_time:
        print(f"RabbitMQ management login (shown once): admin / {store['rabbitmq-admin']}",
              flush=True)
    print("secrets ready" + (f"; generated {len(first_time)}" if first_time else ""), flush=True)


if __name__ == "__main__":
    main()
