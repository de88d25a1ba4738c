"""The Kubernetes manifests in deploy/: the structure two replicas per service rely on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PORTS = {"user": 50051, "inventory": 50052, "orders": 50053}
# Written by the RabbitMQ Cluster Operator for the RabbitmqCluster named "rabbitmq".
OPERATOR_SECRETS = {"rabbitmq-default-user"}

Doc = dict[str, Any]


def documents() -> list[Doc]:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    return [doc for name in kustomization["resources"]
            for doc in yaml.safe_load_all((DEPLOY / name).read_text()) if doc]


def of_kind(kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in documents() if d["kind"] == kind}


def pod_spec(workload: Doc) -> Doc:
    spec: Doc = workload["spec"]["template"]["spec"]
    return spec


def env_of(container: Doc) -> dict[str, Doc]:
    return {e["name"]: e for e in container.get("env", [])}


def test_kustomization_lists_every_manifest() -> None:
    listed = set(yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in DEPLOY.glob("*.yaml")} - {"kustomization.yaml"}


@pytest.mark.parametrize("service", PORTS)
def test_each_service_runs_two_probed_non_root_replicas(service: str) -> None:
    deployment = of_kind("Deployment")[service]
    assert deployment["spec"]["replicas"] >= 2
    spec = pod_spec(deployment)
    assert spec["securityContext"]["runAsNonRoot"] is True
    (container,) = spec["containers"]
    port = PORTS[service]
    assert container["readinessProbe"]["grpc"]["port"] == port
    assert container["livenessProbe"]["grpc"]["port"] == port
    assert env_of(container)["BOOKSTORE_LISTEN_ADDR"]["value"] == f"0.0.0.0:{port}"
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])


@pytest.mark.parametrize("service", PORTS)
def test_each_service_has_a_service_a_headless_service_and_a_budget(service: str) -> None:
    services = of_kind("Service")
    assert services[service]["spec"]["ports"][0]["port"] == PORTS[service]
    assert services[f"{service}-headless"]["spec"]["clusterIP"] == "None"
    budget = of_kind("PodDisruptionBudget")[service]
    assert budget["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": service}


def test_only_user_mounts_the_private_key() -> None:
    mounting = {name for name, d in of_kind("Deployment").items()
                if any(v.get("secret", {}).get("secretName") == "jwt-private"
                       for v in pod_spec(d).get("volumes", []))}
    assert mounting == {"user"}


@pytest.mark.parametrize("service", PORTS)
def test_each_service_uses_its_own_replica_set(service: str) -> None:
    (container,) = pod_spec(of_kind("Deployment")[service])["containers"]
    url = env_of(container)["BOOKSTORE_MONGO_URL"]["value"]
    assert url.endswith(f"?replicaSet=rs-{service}")
    assert all(host.startswith(f"mongo-{service}-")
               for host in url.removeprefix("mongodb://").split("/")[0].split(","))
    mongo = of_kind("StatefulSet")[f"mongo-{service}"]
    assert mongo["spec"]["replicas"] == 3
    assert ["--replSet", f"rs-{service}"] == pod_spec(mongo)["containers"][0]["args"][:2]


def test_orders_round_robins_over_inventory_pods() -> None:
    config = of_kind("ConfigMap")["bookstore-config"]["data"]
    assert config["BOOKSTORE_INVENTORY_ADDR"] == "dns:///inventory-headless:50052"


def test_broker_is_a_three_node_cluster() -> None:
    assert of_kind("RabbitmqCluster")["rabbitmq"]["spec"]["replicas"] == 3


def test_every_referenced_config_map_and_secret_exists() -> None:
    config_maps, secrets = set(of_kind("ConfigMap")), set(of_kind("Secret")) | OPERATOR_SECRETS
    workloads = [*of_kind("Deployment").values(), *of_kind("Job").values()]
    for workload in workloads:
        spec = pod_spec(workload)
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                assert volume["secret"]["secretName"] in secrets
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    assert ref["secretKeyRef"]["name"] in secrets
                if "configMapKeyRef" in ref:
                    assert ref["configMapKeyRef"]["name"] in config_maps
    assert of_kind("Job")["seed"]
