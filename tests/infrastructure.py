"""Finds the MongoDB and RabbitMQ servers the integration tests run against.

In order: a server named by ``BOOKSTORE_TEST_MONGO_URL`` / ``BOOKSTORE_TEST_AMQP_URL``; a
container started with testcontainers when a Docker engine answers; otherwise the tests that
need it are skipped with the reason. With ``BOOKSTORE_TEST_REQUIRE_INFRA=1`` (set by CI) a
missing server fails the run instead, so skipped integration tests can never pass for green.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

REQUIRE_ENV = "BOOKSTORE_TEST_REQUIRE_INFRA"


def docker_available() -> bool:
    try:
        import docker  # installed with testcontainers

        docker.from_env(timeout=3).ping()
    except Exception:  # any failure means: no usable engine
        return False
    return True


def unavailable(what: str) -> None:
    reason = (f"no {what}: set BOOKSTORE_TEST_{what.split()[0].upper()}_URL "
              "or run a Docker engine for testcontainers")
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


@contextlib.contextmanager
def mongo_server() -> Iterator[str]:
    """A MongoDB URL; a container is a one-node replica set, so transactions work."""
    if url := os.environ.get("BOOKSTORE_TEST_MONGO_URL"):
        yield url
        return
    if not docker_available():
        unavailable("mongo server")
    from testcontainers.mongodb import MongoDbContainer

    container = MongoDbContainer("mongo:8.0").with_command("--replSet rs0 --bind_ip_all")
    with container:
        host, port = container.get_container_host_ip(), container.get_exposed_port(27017)
        container.exec(["mongosh", "--quiet", "-u", container.username, "-p",
                        container.password, "--eval",
                        "rs.initiate({_id:'rs0',members:[{_id:0,host:'localhost:27017'}]})"])
        yield (f"mongodb://{container.username}:{container.password}@{host}:{port}/"
               "?directConnection=true&authSource=admin")


@contextlib.contextmanager
def amqp_server() -> Iterator[str]:
    if url := os.environ.get("BOOKSTORE_TEST_AMQP_URL"):
        yield url
        return
    if not docker_available():
        unavailable("amqp broker")
    from testcontainers.rabbitmq import RabbitMqContainer

    with RabbitMqContainer("rabbitmq:4-management") as container:
        params = container.get_connection_params()
        yield (f"amqp://{container.username}:{container.password}@"
               f"{params.host}:{params.port}/")
