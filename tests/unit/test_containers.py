"""The container setup's structure: what `docker compose up` relies on, checked without Docker."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("user", "inventory", "orders")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def dockerfile_targets() -> dict[str, str]:
    """Each build stage's name mapped to its text."""
    text = (ROOT / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]
    return {re.match(r"\S+ AS (\S+)", s).group(1): s for s in stages}  # type: ignore[union-attr]


def test_stack_has_broker_a_database_per_service_and_the_services(
    compose: dict[str, Any],
) -> None:
    names = set(compose["services"])
    assert {"rabbitmq", *SERVICES, *(f"mongo-{s}" for s in SERVICES)} <= names
    assert re.fullmatch(r"rabbitmq:\d+\.\d+\.\d+-management",
                        compose["services"]["rabbitmq"]["image"])
    for svc in SERVICES:
        assert re.fullmatch(r"mongo:\d+\.\d+\.\d+", compose["services"][f"mongo-{svc}"]["image"])


def test_every_image_is_pinned_to_an_exact_release(compose: dict[str, Any]) -> None:
    images = [s["image"] for s in compose["services"].values() if "image" in s]
    images += re.findall(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE)
    for image in images:
        if image in dockerfile_targets():
            continue  # a stage of this Dockerfile
        assert re.search(r":v?\d+\.\d+\.\d+(-[a-z]+)*(@sha256:[0-9a-f]{64})?$", image), image


def test_every_service_reaches_only_its_own_database(compose: dict[str, Any]) -> None:
    for name, spec in compose["services"].items():
        text = yaml.safe_dump(spec)
        for svc in SERVICES:
            if name not in (svc, f"mongo-{svc}", "secrets"):
                assert f"secrets-mongo-{svc}" not in text, f"{name} reads {svc}'s database secrets"
                assert f"secrets-{svc}:" not in text, f"{name} reads {svc}'s secrets"
    for svc in SERVICES:
        mounts = compose["services"][svc]["volumes"]
        assert f"secrets-{svc}:/run/bookstore-secrets:ro" in mounts


def test_no_default_credentials_anywhere(compose: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "guest" not in text
    assert "change-me" not in text
    assert "PASSWORD: ${BOOKSTORE_ADMIN_PASSWORD:-}" in text  # from .env or generated
    for name, spec in compose["services"].items():
        for key, value in (spec.get("environment") or {}).items():
            assert "://" not in str(value) or "@" not in str(value), f"{name} {key} has a login"
            if key.endswith("PASSWORD"):
                assert name == "secrets", f"{name} gets {key} from the environment"
    assert "loopback_users.guest = true" in (ROOT / "compose" / "rabbitmq.conf").read_text()


def test_published_ports_listen_on_loopback_only(compose: dict[str, Any]) -> None:
    published = [p for spec in compose["services"].values() for p in spec.get("ports", [])]
    # The broker (AMQP, management), the three services, the storefront, Jaeger, Prometheus
    # and Grafana.
    assert {int(str(p).rsplit(":", 1)[1]) for p in published} == {
        5672, 15672, 50051, 50052, 50053, 8080, 16686, 9090, 3000}
    for port in published:
        assert str(port).startswith("127.0.0.1:"), port


def test_every_container_is_locked_down(compose: dict[str, Any]) -> None:
    for name, spec in compose["services"].items():
        assert spec["cap_drop"] == ["ALL"], name
        assert spec["security_opt"] == ["no-new-privileges:true"], name
        assert spec["read_only"] is True, name
        assert "/tmp" in spec["tmpfs"], name
        limits = spec["deploy"]["resources"]["limits"]
        assert {"cpus", "memory", "pids"} <= set(limits), name
        assert spec.get("cap_add", []) == (["CHOWN"] if name == "secrets" else []), name
        assert "privileged" not in spec, name


def test_everything_waits_for_the_secrets(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("rabbitmq", *(f"mongo-{s}" for s in SERVICES)):
        assert services[name]["depends_on"]["secrets"] == {
            "condition": "service_completed_successfully"}, name
    assert services["secrets"]["restart"] == "no"


def test_only_inventory_and_orders_get_broker_accounts() -> None:
    source = (ROOT / "compose" / "init_secrets.py").read_text()
    assert 'AMQP_SERVICES = ("inventory", "orders")' in source


def test_mongo_runs_with_access_control_healthy_only_as_primary(
    compose: dict[str, Any],
) -> None:
    script = (ROOT / "compose" / "mongo_health.js").read_text()
    assert "if (!hello.isWritablePrimary) quit(1);" in script
    for svc in SERVICES:
        mongo = compose["services"][f"mongo-{svc}"]
        assert "--keyFile" in mongo["command"]
        assert mongo["healthcheck"]["test"][-1] == "/bookstore/mongo_health.js"
        assert mongo["environment"]["BOOKSTORE_SERVICE"] == svc


def test_infrastructure_has_healthchecks_and_services_wait_for_them(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in ("rabbitmq", *(f"mongo-{s}" for s in SERVICES)):
        assert services[name]["healthcheck"]["test"], name
    for svc in SERVICES:
        depends = services[svc]["depends_on"]
        assert depends[f"mongo-{svc}"]["condition"] == "service_healthy"
        assert depends["keygen"]["condition"] == "service_completed_successfully"
        if svc != "user":
            assert depends["rabbitmq"]["condition"] == "service_healthy"


def test_service_images_are_non_root_with_grpc_healthchecks() -> None:
    targets = dockerfile_targets()
    assert "USER 10001:10001" in targets["app"]
    assert 'ENTRYPOINT ["bookstore-entrypoint"]' in targets["app"]
    for svc in SERVICES:
        assert "runtime.healthcheck" in targets[svc], svc
        assert f'"-m", "{svc}"' in targets[svc], svc


def test_only_the_user_service_gets_the_signing_key(compose: dict[str, Any]) -> None:
    for name, spec in compose["services"].items():
        mounts = " ".join(spec.get("volumes", []))
        if "jwt-private" in mounts:
            assert name in ("user", "keygen"), name


def test_no_secrets_or_test_tools_baked_into_images() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "PRIVATE_KEY" not in text
    assert "PASSWORD" not in text
    assert ".[dev]" not in text
    assert "pytest" not in text
    assert "tests" in (ROOT / ".dockerignore").read_text().split()


def test_the_storefront_image_serves_the_web_app_and_waits_for_every_service(
        compose: dict[str, Any]) -> None:
    target = dockerfile_targets()["web"]
    assert '"-m", "client.web"' in target
    assert "/healthz" in target
    assert set(compose["services"]["web"]["depends_on"]) == set(SERVICES)
    assert "volumes" not in compose["services"]["web"]  # no data, no keys, no secrets


def test_seed_runs_once_after_the_services_it_needs_are_healthy(compose: dict[str, Any]) -> None:
    seed = compose["services"]["seed"]
    assert seed["restart"] == "no"
    assert {name: dep["condition"] for name, dep in seed["depends_on"].items()} == {
        "user": "service_healthy", "inventory": "service_healthy"}
    assert '"bookstore", "seed"' in dockerfile_targets()["seed"]
