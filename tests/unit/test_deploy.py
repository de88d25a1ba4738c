"""The Kubernetes manifests in deploy/: the structure two replicas per service rely on, and
what keeps them secure and available through a node's loss (the linters are in
test_deploy_lint.py)."""

from __future__ import annotations

import functools
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from runtime.server import LIVENESS

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NAMESPACE = "bookstore"
PORTS = {"user": 50051, "inventory": 50052, "orders": 50053}
METRICS_PORTS = {"user": 9101, "inventory": 9102, "orders": 9103}
AMQP_USERS = ("inventory", "orders")
# Written by the Messaging Topology Operator for each rabbitmq.com User.
OPERATOR_SECRETS = {f"{svc}-user-credentials" for svc in AMQP_USERS}

Doc = dict[str, Any]


@functools.cache  # parsed once: read-only from here on
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


def workloads() -> dict[str, Doc]:
    return {**of_kind("Deployment"), **of_kind("StatefulSet"), **of_kind("Job")}


def secrets_used(workload: Doc) -> set[str]:
    """Every Secret a workload's pods read, through volumes or environment."""
    spec = pod_spec(workload)
    used = {v["secret"]["secretName"] for v in spec.get("volumes", []) if "secret" in v}
    for container in [*spec.get("initContainers", []), *spec["containers"]]:
        used |= {s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s}
        used |= {e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", [])
                 if "secretKeyRef" in e.get("valueFrom", {})}
    return used


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
    # Readiness asks overall health, which follows the dependencies; liveness asks a name that
    # does not, so an outage elsewhere takes pods out of rotation without restarting them.
    assert container["readinessProbe"]["grpc"].get("service", "") == ""
    assert container["livenessProbe"]["grpc"]["service"] == LIVENESS
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
    env = env_of(container)
    url = env["BOOKSTORE_MONGO_URL"]["value"]
    assert f"?replicaSet=rs-{service}&" in url
    credentials, _, hosts = url.removeprefix("mongodb://").split("/")[0].rpartition("@")
    assert credentials == f"{service}:$(BOOKSTORE_MONGO_PASSWORD)"
    assert list(env).index("BOOKSTORE_MONGO_PASSWORD") < list(env).index("BOOKSTORE_MONGO_URL")
    assert env["BOOKSTORE_MONGO_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == (
        f"mongo-{service}-credentials")
    assert all(host.startswith(f"mongo-{service}-") for host in hosts.split(","))
    mongo = of_kind("StatefulSet")[f"mongo-{service}"]
    assert mongo["spec"]["replicas"] == 3
    mongod = pod_spec(mongo)["containers"][0]
    assert ["--replSet", f"rs-{service}"] == mongod["args"][:2]
    assert "--keyFile" in mongod["args"], "replica set members must authenticate"


def test_orders_round_robins_over_inventory_pods() -> None:
    config = of_kind("ConfigMap")["bookstore-config"]["data"]
    assert config["BOOKSTORE_INVENTORY_ADDR"] == "dns:///inventory-headless:50052"


def test_broker_is_a_three_node_cluster_one_node_per_host() -> None:
    spec = of_kind("RabbitmqCluster")["rabbitmq"]["spec"]
    assert spec["replicas"] == 3
    (term,) = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"


def test_every_referenced_config_map_and_secret_exists() -> None:
    config_maps, secrets = set(of_kind("ConfigMap")), set(of_kind("Secret")) | OPERATOR_SECRETS
    for workload in workloads().values():
        spec = pod_spec(workload)
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                assert volume["secret"]["secretName"] in secrets
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
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


def test_every_object_is_in_the_bookstore_namespace() -> None:
    assert of_kind("Namespace")[NAMESPACE]["metadata"]["labels"][
        "pod-security.kubernetes.io/warn"] == "restricted"
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert kustomization["namespace"] == NAMESPACE
    for doc in documents():
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == NAMESPACE, doc["metadata"]["name"]


@pytest.mark.parametrize("name", sorted(workloads()))
def test_every_container_is_locked_down(name: str) -> None:
    spec = pod_spec(workloads()[name])
    assert spec["automountServiceAccountToken"] is False
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] > 10000
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in [*spec.get("initContainers", []), *spec["containers"]]:
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True, container["name"]
        assert context["allowPrivilegeEscalation"] is False, container["name"]
        assert context["readOnlyRootFilesystem"] is True, container["name"]
        assert context["capabilities"] == {"drop": ["ALL"]}, container["name"]
        assert {"cpu", "memory"} <= set(container["resources"]["limits"]), container["name"]


@pytest.mark.parametrize("name", sorted({**of_kind("Deployment"), **of_kind("StatefulSet")}))
def test_every_long_running_container_has_liveness_and_readiness_probes(name: str) -> None:
    for container in pod_spec(workloads()[name])["containers"]:
        assert container["livenessProbe"], container["name"]
        assert container["readinessProbe"], container["name"]


@pytest.mark.parametrize("name", sorted({**of_kind("Deployment"), **of_kind("StatefulSet")}))
def test_every_replicated_workload_is_spread_and_budgeted(name: str) -> None:
    workload = workloads()[name]
    assert workload["spec"]["replicas"] >= 2
    labels = workload["spec"]["selector"]["matchLabels"]
    spec = pod_spec(workload)
    by_host = [c for c in spec["topologySpreadConstraints"]
               if c["topologyKey"] == "kubernetes.io/hostname"]
    assert by_host, "not spread over nodes"
    assert by_host[0]["labelSelector"]["matchLabels"] == labels
    assert "podAntiAffinity" in spec["affinity"]
    (budget,) = [b for b in of_kind("PodDisruptionBudget").values()
                 if b["spec"]["selector"]["matchLabels"] == labels]
    if workload["kind"] == "StatefulSet":  # a replica set: never lose the majority
        assert budget["spec"]["maxUnavailable"] == 1
        (term,) = spec["affinity"]["podAntiAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"]
        assert term["topologyKey"] == "kubernetes.io/hostname"
    assert of_kind("PodDisruptionBudget")["rabbitmq"]["spec"]["maxUnavailable"] == 1


def test_images_are_versioned_under_one_scheme() -> None:
    with (ROOT / "pyproject.toml").open("rb") as f:
        version = tomllib.load(f)["project"]["version"]
    for workload in workloads().values():
        spec = pod_spec(workload)
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            image = container["image"]
            if image.startswith("mongo:"):
                assert re.fullmatch(r"mongo:\d+\.\d+\.\d+", image)
            else:
                assert re.fullmatch(rf"ghcr\.io/bookstore/bookstore-[a-z]+:{re.escape(version)}",
                                    image)
    assert re.fullmatch(r"rabbitmq:\d+\.\d+\.\d+-management",
                        of_kind("RabbitmqCluster")["rabbitmq"]["spec"]["image"])


def test_each_workload_reads_only_the_secrets_it_needs() -> None:
    used = {name: secrets_used(w) for name, w in workloads().items()}
    assert used["user"] == {
        "jwt-public", "jwt-private", "bookstore-admin", "mongo-user-credentials"}
    for svc in AMQP_USERS:
        assert used[svc] == {"jwt-public", f"mongo-{svc}-credentials", f"{svc}-user-credentials"}
    for svc in PORTS:
        assert used[f"mongo-{svc}"] == {f"mongo-{svc}-admin", f"mongo-{svc}-credentials"}
    assert used["seed"] == {"bookstore-admin"}
    assert not any("rabbitmq-default-user" in names for names in used.values())


@pytest.mark.parametrize("service", AMQP_USERS)
def test_broker_users_may_touch_only_their_own_names(service: str) -> None:
    permission = of_kind("Permission")[service]["spec"]
    assert permission["userReference"] == {"name": service}
    allowed = re.compile(permission["permissions"]["configure"])
    assert set(permission["permissions"].values()) == {allowed.pattern}
    for own in ("bookstore.events", f"bookstore.{service}", f"bookstore.{service}.dead"):
        assert allowed.fullmatch(own)
    for other in ("bookstore.user", "bookstore.inventory", "bookstore.orders.dead", "amq.topic"):
        if not other.startswith(f"bookstore.{service}"):
            assert not allowed.fullmatch(other), other
    assert "user" not in of_kind("User")


def policy_ports(rules: list[Doc]) -> set[int]:
    return {p["port"] for rule in rules for p in rule.get("ports", [])}


def peers(rules: list[Doc], direction: str) -> set[str]:
    return {peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
            for rule in rules for peer in rule.get(direction, []) if "podSelector" in peer}


def test_network_is_default_deny_with_dns() -> None:
    policies = of_kind("NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert policy_ports(policies["dns"]["spec"]["egress"]) == {53}


@pytest.mark.parametrize("service", PORTS)
def test_network_lets_each_service_reach_only_what_it_uses(service: str) -> None:
    spec = of_kind("NetworkPolicy")[service]["spec"]
    ingress = spec["ingress"]
    assert policy_ports(ingress) == {PORTS[service], METRICS_PORTS[service]}
    (metrics,) = [r for r in ingress if METRICS_PORTS[service] in policy_ports([r])]
    assert metrics["from"] == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "monitoring"}}}]
    expected = {f"mongo-{service}"} | ({"rabbitmq"} if service in AMQP_USERS else set())
    if service == "orders":
        expected.add("inventory")
    assert peers(spec["egress"], "to") == expected
    mongo = of_kind("NetworkPolicy")[f"mongo-{service}"]["spec"]
    assert peers(mongo["ingress"], "from") == {service, f"mongo-{service}"}
    assert peers(mongo["egress"], "to") == {f"mongo-{service}"}


def test_network_lets_only_inventory_and_orders_reach_the_broker() -> None:
    spec = of_kind("NetworkPolicy")["rabbitmq"]["spec"]
    (amqp,) = [r for r in spec["ingress"] if 5672 in policy_ports([r])]
    assert peers([amqp], "from") == set(AMQP_USERS)


def test_the_storefront_reaches_only_the_services_and_keeps_visitors_on_one_pod() -> None:
    spec = of_kind("NetworkPolicy")["web"]["spec"]
    assert policy_ports(spec["ingress"]) == {8080}
    assert peers(spec["egress"], "to") == set(PORTS)
    assert policy_ports(spec["egress"]) == set(PORTS.values())
    assert of_kind("Service")["web"]["spec"]["sessionAffinity"] == "ClientIP"
    assert secrets_used(workloads()["web"]) == set()
    (container,) = pod_spec(workloads()["web"])["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
