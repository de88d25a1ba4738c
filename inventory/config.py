"""The inventory service's settings: the shared ones (:mod:`runtime.settings`) so far."""

from __future__ import annotations

from typing import ClassVar

from runtime.settings import ServiceName, ServiceSettings


class InventorySettings(ServiceSettings):
    service: ClassVar[ServiceName] = "inventory"
