"""The container setup's structure: what `docker compose up` relies on, checked without Docker."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
    assert compose["services"]["rabbitmq"]["image"].endswith("-management")
    for svc in SERVICES:
        assert compose["services"][f"mongo-{svc}"]["image"].startswith("mongo:")


def test_every_service_reaches_only_its_own_database(compose: dict[str, Any]) -> None:
    for svc in SERVICES:
        url = compose["services"][svc]["environment"]["BOOKSTORE_MONGO_URL"]
        assert urlsplit(url).hostname == f"mongo-{svc}"
    for name, spec in compose["services"].items():
        text = yaml.safe_dump(spec)
        for svc in SERVICES:
            if name not in (svc, f"mongo-{svc}"):
                assert f"mongo-{svc}:" not in text, f"{name} reaches {svc}'s database"


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
    assert "USER bookstore" in targets["app"]
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


def test_seed_runs_once_after_the_services_it_needs_are_healthy(compose: dict[str, Any]) -> None:
    seed = compose["services"]["seed"]
    assert seed["restart"] == "no"
    assert {name: dep["condition"] for name, dep in seed["depends_on"].items()} == {
        "user": "service_healthy", "inventory": "service_healthy"}
    assert '"bookstore", "seed"' in dockerfile_targets()["seed"]
