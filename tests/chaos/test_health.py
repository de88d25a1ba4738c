"""The broker stops: inventory and orders report NOT_SERVING within the bound, the user service
(no broker) stays SERVING, and all are SERVING again once the broker is back. This stops the
shared RabbitMQ node, so it runs only where ``rabbitmqctl`` works, and always restarts it."""

from __future__ import annotations

import shutil

import pytest

from tests.integration.runtime.test_dependency_health import (
    ALL,
    BROKER_USERS,
    NOT_SERVING,
    SERVING,
    until_consuming_again,
    until_health,
)
from tests.integration.saga.test_broker_restart import rabbitmqctl
from tests.stack import Stack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.chaos,
    pytest.mark.broker_restart,
    pytest.mark.timeout(180),
    pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl"),
]


async def test_broker_stopped_and_started(chaos_stack: Stack, amqp_url: str) -> None:
    await until_health(chaos_stack, dict.fromkeys(ALL, SERVING))
    try:
        await rabbitmqctl("stop_app")
        # The default probe interval: the bound holds as deployed, not only with fast probes.
        await until_health(chaos_stack, {**dict.fromkeys(BROKER_USERS, NOT_SERVING),
                                         "user": SERVING})
    finally:
        await rabbitmqctl("start_app")
        await rabbitmqctl("await_startup")
    await until_health(chaos_stack, dict.fromkeys(ALL, SERVING))
    await until_consuming_again(chaos_stack, amqp_url)
