"""Fuzzing fixtures: one background loop per module, shared key material for auth tokens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fuzz.harness import BackgroundLoop

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def loop() -> Iterator[BackgroundLoop]:
    background = BackgroundLoop()
    try:
        yield background
    finally:
        background.close()
