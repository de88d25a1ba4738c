#!/usr/bin/env bash
# Runs the whole Bookstore on this machine: infrastructure, every service, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/python scripts/stack.py "$@"
