"""Runs the order service: ``python -m orders``."""

from orders.app import APP
from runtime.entry import main

if __name__ == "__main__":
    main(APP)
