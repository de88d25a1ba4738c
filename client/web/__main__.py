"""``python -m client.web``: serve the storefront on BOOKSTORE_WEB_ADDR until SIGINT/SIGTERM."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator

import uvicorn

from client._errors import InvalidArgumentError
from client.web._app import create_app
from client.web._config import WebConfig
from client.web._logging import log_config

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Server(uvicorn.Server):
    """uvicorn's server, stopping on SIGINT/SIGTERM and then exiting 0 like the services.

    uvicorn re-raises the stop signal once it has shut down, so a clean stop would look
    like a crash (exit -15) to whatever supervises the process.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def main() -> int:
    try:
        config = WebConfig.from_env()
    except InvalidArgumentError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    host, port = config.host_and_port
    # Live order pages hold a stream open; on shutdown they get a few seconds, then go.
    server = Server(uvicorn.Config(
        create_app(config), host=host, port=port,
        log_config=log_config(config.log_format, config.log_level),
        proxy_headers=True, timeout_graceful_shutdown=5, server_header=False))
    server.run()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
