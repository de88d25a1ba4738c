#!/usr/bin/env bash
# Creates .venv with the project and its development tools from the hashed lock file
# (requirements/dev.txt), and .venv-deploy-lint with the deployment linters
# (requirements/deploy-lint.txt); reinstalls when a lock changes. Fails, saying to run
# scripts/lock.sh, when pyproject.toml's dependencies changed and the locks did not.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
"$python" scripts/lockcheck.py

# install VENV LOCK "FILES" [then...]: VENV from LOCK, every file checked against its hash;
# again only when one of FILES changes.
install() {
  local venv=$1 lock=$2 inputs=$3; shift 3
  local stamp
  # shellcheck disable=SC2086  # FILES is a list
  stamp=$venv/.installed-$(cat $inputs | sha256sum | cut -c1-16)
  [ -f "$stamp" ] && return 0
  echo "[bootstrap] installing $lock into $venv/" >&2
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r "$lock"
  "$@"
  rm -f "$venv"/.installed-*
  touch "$stamp"
}

install .venv requirements/dev.txt "requirements/dev.txt pyproject.toml" \
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
install .venv-deploy-lint requirements/deploy-lint.txt requirements/deploy-lint.txt
