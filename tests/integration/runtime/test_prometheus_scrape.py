"""A real Prometheus scrapes /metrics and loads the alert rules beside it: an in-process
endpoint, and every service of a running stack."""

from __future__ import annotations

import contextlib
import json
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml

from contracts.bookstore.user.v1 import user_pb2, user_pb2_grpc
from runtime.metrics import MetricsAddress, MetricsServer
from tests.e2e.shop import open_shop
from tests.stack import Stack, free_port
from tests.unit.runtime.fake_users import KNOWN_USER, SERVICE, serving
from tests.unit.test_monitoring import RULES, require_tool
from tests.waiting import blocking_until

pytestmark = pytest.mark.integration


def api(base: str, path: str, **query: str) -> Any:
    url = f"{base}/api/v1/{path}?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)["data"]


def eventually(check: Any, what: str) -> Any:
    """Poll Prometheus (another process, with nothing to await) until ``check`` answers."""
    return blocking_until(check, 30, what=what, interval=0.2,
                          ignore=(OSError,))  # not listening yet


@contextlib.contextmanager
def running_prometheus(tmp_path: Path, targets: Mapping[str, list[str]]) -> Iterator[str]:
    """Prometheus scraping ``targets`` (``host:port`` per service label) every second, with
    the alert rules loaded; yields its URL."""
    binary = require_tool("prometheus")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "bookstore", "static_configs": [
            {"targets": addresses, "labels": {"service": service}}
            for service, addresses in targets.items()]}],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    with (tmp_path / "prometheus.log").open("w") as log, subprocess.Popen(
            [binary, f"--config.file={tmp_path / 'prometheus.yml'}",
             f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=log) as process:
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, MetricsServer]]:
    """Prometheus scraping an in-process endpoint every second; yields its URL and the endpoint."""
    endpoint = MetricsServer(MetricsAddress("127.0.0.1", 0))
    try:
        with running_prometheus(tmp_path, {"user": [f"127.0.0.1:{endpoint.port}"]}) as url:
            yield url, endpoint
    finally:
        endpoint.stop()


async def test_prometheus_ingests_rpc_counts_and_loads_every_rule(
        prometheus: tuple[str, MetricsServer]) -> None:
    base, _ = prometheus
    async with serving() as address, grpc.aio.insecure_channel(address) as channel:
        stub = user_pb2_grpc.UserServiceStub(channel)
        await stub.GetUser(user_pb2.UserIDRequest(user_id=KNOWN_USER), timeout=5)

    query = (f'bookstore_rpc_requests_total{{job="bookstore", service="user", '
             f'method="/{SERVICE}/GetUser", code="OK"}}')
    (series,) = eventually(lambda: api(base, "query", query=query)["result"], "the first scrape")
    assert float(series["value"][1]) >= 1

    expected = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"]
                for rule in group["rules"]}
    never = "0001-01-01T00:00:00Z"  # a rule's lastEvaluation before its first evaluation
    rules = eventually(lambda: [r for g in api(base, "rules")["groups"] for r in g["rules"]
                                if r["lastEvaluation"] != never and r["health"] == "ok"] or None,
                       "the rules to evaluate")
    assert {r["name"] for r in rules} == expected


@pytest.mark.timeout(300)
async def test_prometheus_scrapes_every_service_of_a_running_stack(
        stack: Stack, tmp_path: Path) -> None:
    async with open_shop(stack) as shop:
        _, me = await shop.customer()
        book = await shop.add_book("Scraped", 700, stock=3)
        order = await shop.place(me, [(book, 1)])
        await shop.settle([order.id], within=60)
    with running_prometheus(tmp_path, stack.metrics_addresses) as base:
        up = eventually(lambda: (
            found if len(found := {r["metric"]["service"]: r["value"][1] for r in api(
                base, "query", query='up{job="bookstore"}')["result"]}) == 3 else None),
            "every service scraped")
        assert up == {"user": "1", "inventory": "1", "orders": "1"}
        (placed,) = eventually(lambda: api(
            base, "query", query='bookstore_orders_placed_total{service="orders"}')["result"],
            "bookstore_orders_placed_total")
        assert float(placed["value"][1]) >= 1
