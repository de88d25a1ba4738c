"""The storefront's logs in the services' shape: one JSON object a line on stderr (``time``,
``level``, ``service``, ``logger``, ``message``), or plain text for people at a terminal.

A uvicorn ``log_config``, so its own lines (start, stop, each request) come out the same way.
"""

from __future__ import annotations

from typing import Any

SERVICE = "web"


def log_config(fmt: str, level: str) -> dict[str, Any]:
    if fmt == "json":
        formatter: dict[str, Any] = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "{asctime}{levelname}{name}{message}", "style": "{",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "static_fields": {"service": SERVICE}}
    else:
        formatter = {"format": f"%(asctime)s %(levelname)-7s {SERVICE} %(name)s: %(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "default",
                                "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {name: {"level": level} for name in ("uvicorn", "uvicorn.error",
                                                         "uvicorn.access")},
    }
