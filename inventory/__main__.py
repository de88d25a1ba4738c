"""Runs the inventory service: ``python -m inventory``."""

from inventory.app import APP
from runtime.entry import main

if __name__ == "__main__":
    main(APP)
