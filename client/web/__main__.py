"""``python -m client.web``: serve the storefront on BOOKSTORE_WEB_ADDR until SIGINT/SIGTERM."""

from __future__ import annotations

import sys

import uvicorn

from client._errors import InvalidArgumentError
from client.web._app import create_app
from client.web._config import WebConfig


def main() -> int:
    try:
        config = WebConfig.from_env()
    except InvalidArgumentError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    host, port = config.host_and_port
    # Live order pages hold a stream open; on shutdown they get a few seconds, then go.
    uvicorn.run(create_app(config), host=host, port=port, log_level="info",
                proxy_headers=True, timeout_graceful_shutdown=5, server_header=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
