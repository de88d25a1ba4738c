#!/usr/bin/env bash
# Makes sure promtool (Prometheus's rule checker) is on PATH for the alert-rule tests.
# As root on Debian or Ubuntu it installs Debian's `prometheus` package, which brings promtool
# and a real prometheus. Elsewhere it says what to install: with BOOKSTORE_TEST_REQUIRE_INFRA=1
# (as in CI) it then fails, otherwise the rule tests are skipped with that reason.
set -euo pipefail
command -v promtool >/dev/null 2>&1 && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "[promtool] installing Debian's prometheus package (brings promtool)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  command -v promtool >/dev/null 2>&1 && exit 0
  echo "[promtool] the prometheus package installed no promtool" >&2
  exit 1
fi

echo "[promtool] promtool is missing and cannot be installed here (needs root with apt-get)." >&2
echo "[promtool] Install Prometheus's promtool and put it on PATH (Debian/Ubuntu: apt-get install prometheus)." >&2
if [ "${BOOKSTORE_TEST_REQUIRE_INFRA:-}" = 1 ]; then
  exit 1
fi
echo "[promtool] the alert-rule tests will be skipped" >&2
