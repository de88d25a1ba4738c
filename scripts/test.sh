#!/usr/bin/env bash
# Runs every check: ruff, mypy, then all tests (unit, integration, end-to-end) against a real
# RabbitMQ and a real MongoDB-compatible server. Servers come from BOOKSTORE_TEST_MONGO_URL /
# BOOKSTORE_TEST_AMQP_URL when set, from testcontainers when a Docker engine answers, and
# otherwise from this machine: an in-memory SecantusDB started here and the local RabbitMQ.
# Extra arguments go to pytest, e.g. scripts/test.sh tests/unit -x
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/install-promtool.sh
scripts/install-chromium.sh
py=.venv/bin/python

cleanup() { [ -n "${mongo_pid:-}" ] && kill "$mongo_pid" 2>/dev/null; wait 2>/dev/null; true; }
trap cleanup EXIT

if ! docker info >/dev/null 2>&1; then
  if [ -z "${BOOKSTORE_TEST_MONGO_URL:-}" ]; then
    url_file=$(mktemp)
    python3 scripts/infra.py mongo --port 0 --storage :memory: >"$url_file" &
    mongo_pid=$!
    for _ in $(seq 3000); do [ -s "$url_file" ] && break; kill -0 "$mongo_pid" || exit 1; sleep 0.1; done
    BOOKSTORE_TEST_MONGO_URL=$(head -n1 "$url_file"); rm -f "$url_file"
    export BOOKSTORE_TEST_MONGO_URL
  fi
  if [ -z "${BOOKSTORE_TEST_AMQP_URL:-}" ]; then
    python3 scripts/infra.py rabbitmq
    export BOOKSTORE_TEST_AMQP_URL="amqp://guest:guest@127.0.0.1:5672/"
  fi
fi
echo "[test] mongo: ${BOOKSTORE_TEST_MONGO_URL:-testcontainers}  amqp: ${BOOKSTORE_TEST_AMQP_URL:-testcontainers}" >&2

$py -m ruff check .
$py -m mypy
$py -m pytest "$@"
