"""Runs the order service: ``python -m orders``."""

from __future__ import annotations

import asyncio

from orders import app
from orders.config import OrdersConfig
from runtime import Settings, configure_logging


def main() -> None:
    settings = Settings.from_env("orders")
    config = OrdersConfig.from_env()
    configure_logging("orders", settings.log_level, settings.log_format)
    asyncio.run(app.run(settings, config))


if __name__ == "__main__":
    main()
