"""A real Prometheus scrapes a service's /metrics and loads the alert rules beside it."""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml

from contracts.bookstore.user.v1 import user_pb2, user_pb2_grpc
from runtime.metrics import MetricsAddress, MetricsServer
from tests.unit.runtime.fake_users import KNOWN_USER, SERVICE, serving
from tests.unit.test_monitoring import RULES, require_tool
from tests.waiting import blocking_until

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api(base: str, path: str, **query: str) -> Any:
    url = f"{base}/api/v1/{path}?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)["data"]


def eventually(check: Any, what: str) -> Any:
    """Poll Prometheus (another process, with nothing to await) until ``check`` answers."""
    return blocking_until(check, 30, what=what, interval=0.2,
                          ignore=(OSError,))  # not listening yet


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, MetricsServer]]:
    """Prometheus scraping an in-process endpoint every second; yields its URL and the endpoint."""
    binary = require_tool("prometheus")
    endpoint = MetricsServer(MetricsAddress("127.0.0.1", 0))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "bookstore", "static_configs": [
            {"targets": [f"127.0.0.1:{endpoint.port}"], "labels": {"service": "user"}}]}],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    with (tmp_path / "prometheus.log").open("w") as log, subprocess.Popen(
            [binary, f"--config.file={tmp_path / 'prometheus.yml'}",
             f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=log) as process:
        try:
            yield f"http://127.0.0.1:{port}", endpoint
        finally:
            process.terminate()
            process.wait(timeout=30)
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
