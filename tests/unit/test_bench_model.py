"""The benchmark's model: round trips per step, the minimum latency and the throughput caps."""

from __future__ import annotations

import pytest

from bench import dbops, model

IDLE = {"grpc_unary": {"p50_ms": 0.5, "per_s": 2000}, "amqp_hop": {"p50_ms": 1.0, "per_s": 900},
        "mongo_read": {"p50_ms": 0.4, "per_s": 2500}, "mongo_write": {"p50_ms": 0.5, "per_s": 2000},
        "mongo_txn": {"p50_ms": 2.0, "per_s": 500}}


def test_the_critical_path_of_a_one_line_order() -> None:
    # PlaceOrder 2r 2w 1c, OrderPlaced 4w 1c, StockReserved 1r 4w 1c, the watch's read.
    assert model.critical_path(1) == model.Trips(reads=4, writes=10, commits=3)


def test_an_order_does_more_than_its_critical_path() -> None:
    path, work = model.critical_path(2), model.per_order(2)
    assert (work.reads, work.writes, work.commits) == (6, 15, 4)
    assert work.reads > path.reads
    assert work.writes > path.writes


def test_the_minimum_counts_what_a_commit_adds_to_its_write() -> None:
    # 1 unary + 2 hops + 4 reads + 10 writes + 3 commits at (2.0 - 0.5) ms
    assert model.minimum_latency_ms(IDLE) == pytest.approx(0.5 + 2.0 + 1.6 + 5.0 + 4.5)


def test_the_model_is_the_tightest_cap() -> None:
    limits = model.throughput_limits(IDLE, lines=2)
    db_seconds = 6 / 2500 + 15 / 2000 + 4 * (1 / 500 - 1 / 2000)
    assert limits["database"] == pytest.approx(1 / db_seconds, abs=0.1)
    assert limits["broker"] == pytest.approx(300)
    assert limits["grpc"] == pytest.approx(2000 / 4, abs=0.1)
    assert limits["model"] == min(limits["database"], limits["broker"], limits["grpc"])


def test_database_operations_are_shared_out_per_order() -> None:
    spent = dbops.per_order({"insert": 10, "query": 5}, {"insert": 40, "query": 25}, orders=10)
    assert spent == {"insert": 3.0, "query": 2.0, "total": 5.0}
