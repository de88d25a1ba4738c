"""Runs the user service: ``python -m user`` (or ``python -m user create-admin --email ...``)."""

from runtime.entry import main
from user.app import APP

if __name__ == "__main__":
    main(APP)
