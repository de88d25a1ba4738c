#!/usr/bin/env bash
# Makes sure a headless Chromium is installed for the storefront's browser tests (tests/browser/),
# which drive it through Playwright without downloading a browser of their own. As root on
# Debian or Ubuntu it installs the distribution's `chromium` package. Elsewhere it says what to
# install: with BOOKSTORE_TEST_REQUIRE_INFRA=1 (as in CI) it then fails, otherwise the browser
# tests are skipped with that reason. BOOKSTORE_CHROMIUM names another binary.
set -euo pipefail
browser=${BOOKSTORE_CHROMIUM:-/usr/bin/chromium}
[ -x "$browser" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -z "${BOOKSTORE_CHROMIUM:-}" ]; then
  echo "[chromium] installing the distribution's chromium package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
  [ -x "$browser" ] && exit 0
  echo "[chromium] the chromium package installed no $browser" >&2
  exit 1
fi

echo "[chromium] $browser is missing and cannot be installed here (needs root with apt-get)." >&2
echo "[chromium] Install Chromium (Debian/Ubuntu: apt-get install chromium) or set BOOKSTORE_CHROMIUM." >&2
if [ "${BOOKSTORE_TEST_REQUIRE_INFRA:-}" = 1 ]; then
  exit 1
fi
echo "[chromium] the browser tests will be skipped" >&2
