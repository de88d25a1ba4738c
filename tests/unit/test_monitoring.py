"""Operators' assets in deploy/monitoring/: valid for Prometheus, and only defined metrics.

promtool checks the scrape config and the alert rules and runs the rules' own tests. Without
promtool (Debian: ``apt-get install prometheus``; scripts/test.sh installs it as root) those
tests are skipped, or fail under ``BOOKSTORE_TEST_REQUIRE_INFRA=1``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from runtime import metrics
from tests.infrastructure import REQUIRE_ENV

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
RULES = MONITORING / "rules" / "bookstore.rules.yml"
DASHBOARD = MONITORING / "grafana" / "dashboards" / "bookstore.json"
KUBERNETES = MONITORING / "kubernetes"
SERVICES = {"user": 9101, "inventory": 9102, "orders": 9103}
# Prometheus's own series, besides those the services export.
BUILT_IN = {"up"}


def require_tool(name: str) -> str:
    """The path of Prometheus's ``name`` (promtool, prometheus), else a skip or a failure."""
    found = shutil.which(name)
    if found is None:
        reason = f"no {name}: install Prometheus (Debian: apt-get install prometheus)"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{reason} ({REQUIRE_ENV}=1 forbids skipping)", pytrace=False)
        pytest.skip(reason)
    return found


def run_promtool(*args: str) -> None:
    run = subprocess.run([require_tool("promtool"), *args], cwd=MONITORING,
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def test_scrape_config_and_the_rules_it_loads_are_valid() -> None:
    run_promtool("check", "config", "prometheus.yml")


def test_alert_rules_are_valid() -> None:
    run_promtool("check", "rules", "rules/bookstore.rules.yml")


def test_alert_rules_fire_on_their_test_series_and_only_then() -> None:
    run_promtool("test", "rules", "rules/bookstore.rules.test.yml")


def sample_names(metric: MetricWrapperBase) -> set[str]:
    """The series names a metric shows in an exposition, as queries may use them."""
    (family,) = metric.describe()
    name = family.name
    if isinstance(metric, Counter):
        return {f"{name}_total", f"{name}_created"}
    if isinstance(metric, Histogram):
        return {f"{name}_{suffix}" for suffix in ("bucket", "sum", "count", "created")}
    assert isinstance(metric, Gauge)
    return {name}


def catalogue() -> set[str]:
    return {sample for value in vars(metrics).values() if isinstance(value, MetricWrapperBase)
            for sample in sample_names(value)}


def rule_expressions(groups: list[dict[str, Any]]) -> list[str]:
    return [rule["expr"] for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def metric_names(expression: str) -> set[str]:
    """Names of series an expression reads: bookstore_* and Prometheus's own."""
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expression))
    return {w for w in words if w.startswith("bookstore_") or w in BUILT_IN}


def test_the_catalogue_defines_the_metrics_operators_watch() -> None:
    assert {"bookstore_orders_placed_total", "bookstore_order_settle_seconds_bucket",
            "bookstore_outbox_oldest_pending_age_seconds", "bookstore_dead_letters",
            "bookstore_orders_pending_overdue", "bookstore_broker_connected",
            "bookstore_rpc_requests_total"} <= catalogue()


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_every_metric_used_is_defined_in_the_catalogue(source: str) -> None:
    expressions = (rule_expressions(yaml.safe_load(RULES.read_text())["groups"])
                   if source == "rules" else dashboard_expressions())
    assert expressions
    used = set().union(*(metric_names(e) for e in expressions)) - BUILT_IN
    assert used
    assert used - catalogue() == set()


def test_dashboard_covers_the_operators_questions() -> None:
    used = set().union(*(metric_names(e) for e in dashboard_expressions()))
    assert {"bookstore_order_transitions_total", "bookstore_order_settle_seconds_bucket",
            "bookstore_outbox_pending_events", "bookstore_outbox_oldest_pending_age_seconds",
            "bookstore_dead_letters", "bookstore_rpc_requests_total",
            "bookstore_rpc_duration_seconds_bucket", "bookstore_events_consumed_total"} <= used


def test_grafana_reads_the_provisioned_datasource() -> None:
    datasources = yaml.safe_load(
        (MONITORING / "grafana/provisioning/datasources/prometheus.yml").read_text())
    (datasource,) = datasources["datasources"]
    dashboard = json.loads(DASHBOARD.read_text())
    uids = {t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]}
    assert uids == {datasource["uid"]}


def test_the_kubernetes_rules_are_the_rules_file() -> None:
    rule = yaml.safe_load((KUBERNETES / "prometheus-rule.yaml").read_text())
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]


def test_kubernetes_pods_serve_metrics_on_the_port_the_pod_monitor_scrapes() -> None:
    (endpoint,) = yaml.safe_load((KUBERNETES / "pod-monitor.yaml").read_text())[
        "spec"]["podMetricsEndpoints"]
    patches = list(yaml.safe_load_all((KUBERNETES / "metrics-ports.yaml").read_text()))
    assert {p["metadata"]["name"] for p in patches} == set(SERVICES)
    for patch in patches:
        (container,) = patch["spec"]["template"]["spec"]["containers"]
        port = SERVICES[patch["metadata"]["name"]]
        assert container["ports"] == [{"name": endpoint["port"], "containerPort": port}]
        assert container["env"] == [{"name": "BOOKSTORE_METRICS_ADDR", "value": f"0.0.0.0:{port}"}]


def test_compose_scrapes_the_address_each_service_serves() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    scrape = yaml.safe_load((MONITORING / "prometheus.yml").read_text())["scrape_configs"]
    targets = {c["labels"]["service"]: c["targets"] for job in scrape
               for c in job["static_configs"]}
    for service, port in SERVICES.items():
        env = compose[service]["environment"]
        assert env["BOOKSTORE_METRICS_ADDR"] == f"0.0.0.0:{port}"
        assert env["OTEL_TRACES_EXPORTER"] == "otlp"
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4317"
        assert targets[service] == [f"{service}:{port}"]


@pytest.mark.parametrize("name", ["jaeger", "prometheus", "grafana"])
def test_compose_monitoring_images_are_pinned_and_local_only(name: str) -> None:
    service = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][name]
    assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+", service["image"])
    assert service["ports"]
    assert all(port.startswith("127.0.0.1:") for port in service["ports"])
    for volume in service.get("volumes", []):
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (ROOT / source).exists(), source
