"""scripts/stack.py names each service's metrics URL when it can know it ahead."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "stack.py"


@pytest.fixture(scope="module")
def stack_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stack_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("env", "service", "url"), [
    ({}, "inventory", "http://127.0.0.1:9102/metrics"),
    ({"BOOKSTORE_ORDERS_METRICS_ADDR": "0.0.0.0:9300"}, "orders", "http://0.0.0.0:9300/metrics"),
    ({"BOOKSTORE_METRICS_ADDR": "[::1]:9400", "BOOKSTORE_USER_METRICS_ADDR": "off"}, "user",
     "http://[::1]:9400/metrics"),
    ({"BOOKSTORE_USER_METRICS_ADDR": "off"}, "user", None),
    ({"BOOKSTORE_METRICS_ADDR": "127.0.0.1:0"}, "user", None),  # known only to the service
    ({"BOOKSTORE_METRICS_ADDR": "nonsense"}, "user", None),  # the service says what is wrong
])
def test_metrics_url(stack_script: ModuleType, env: dict[str, str], service: str,
                     url: str | None) -> None:
    assert stack_script.metrics_url(env, service) == url
