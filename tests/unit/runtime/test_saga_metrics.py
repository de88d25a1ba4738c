"""The saga observer adapter: what saga/ reports moves the Prometheus series it should."""

from __future__ import annotations

from prometheus_client import REGISTRY

from runtime.saga_metrics import SagaMetrics
from saga import Consumed

EVENT = "SagaMetricsTestEvent"  # a name of this test's own: the registry is the process's


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def consumed(outcome: str, event: str = EVENT) -> float:
    return value("bookstore_events_consumed_total", event=event, outcome=outcome)


def test_every_outcome_of_a_subscribed_event_is_exported_from_zero() -> None:
    SagaMetrics(consumes=[EVENT])
    for outcome in ("handled", "duplicate", "retried", "dead_lettered"):
        assert REGISTRY.get_sample_value(
            "bookstore_events_consumed_total", {"event": EVENT, "outcome": outcome}) is not None


def test_a_delivery_counts_its_outcome_its_retries_and_a_handled_ones_time() -> None:
    observer = SagaMetrics()
    before = {o: consumed(o) for o in ("handled", "retried", "duplicate", "dead_lettered")}
    timed = value("bookstore_event_handler_seconds_count", event=EVENT)
    observer.consumed(EVENT, Consumed.HANDLED, 0.02, retries=2)
    observer.consumed(EVENT, Consumed.DUPLICATE, 0.001, retries=0)
    observer.consumed(EVENT, Consumed.DEAD_LETTERED, 0.5, retries=4)
    assert {o: consumed(o) - before[o] for o in before} == {
        "handled": 1, "retried": 6, "duplicate": 1, "dead_lettered": 1}
    assert value("bookstore_event_handler_seconds_count", event=EVENT) - timed == 1
    assert value("bookstore_event_handler_seconds_bucket", event=EVENT, le="0.025") >= 1


def test_publications_backlog_and_broker_connection() -> None:
    observer = SagaMetrics()
    published = value("bookstore_events_published_total", event=EVENT)
    timed = value("bookstore_event_publish_seconds_count")
    observer.published(EVENT, 0.003)
    observer.published(EVENT, 0.003)
    assert value("bookstore_events_published_total", event=EVENT) - published == 2
    assert value("bookstore_event_publish_seconds_count") - timed == 2

    observer.outbox_backlog(7, 12.5)
    assert (value("bookstore_outbox_pending_events"),
            value("bookstore_outbox_oldest_pending_age_seconds")) == (7, 12.5)
    observer.outbox_backlog(0, 0.0)
    assert (value("bookstore_outbox_pending_events"),
            value("bookstore_outbox_oldest_pending_age_seconds")) == (0, 0)

    observer.broker_connected(True)
    assert value("bookstore_broker_connected") == 1
    observer.broker_connected(False)
    assert value("bookstore_broker_connected") == 0
