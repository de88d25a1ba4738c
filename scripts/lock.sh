#!/usr/bin/env bash
# Recompiles the lock files in requirements/ from pyproject.toml and requirements/*.in, with
# hashes, for CPython 3.11+ on any platform (universal markers). Run after changing a
# dependency, or after merging a change that did, and commit requirements/:
#   scripts/lock.sh            # keep what is locked where still allowed
#   scripts/lock.sh --upgrade  # move everything to the newest allowed versions
# Always resolves against PyPI itself, so a machine's local index mirrors never leak in.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
uv=.venv-uv/bin/uv
if [ ! -f ".venv-uv/.installed-$UV_VERSION" ]; then
  python3 -m venv .venv-uv
  .venv-uv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  touch ".venv-uv/.installed-$UV_VERSION"
fi
upgrade=()
[ "${1:-}" = "--upgrade" ] && upgrade=(--upgrade)

compile() {  # compile NAME SOURCE [uv args...]: writes requirements/NAME.txt
  local name=$1 source=$2; shift 2
  local out=requirements/$name.txt tmp
  tmp=$(mktemp)
  [ -f "$out" ] && cp "$out" "$tmp"  # uv keeps what an existing output pins
  env -u UV_INDEX_URL -u UV_EXTRA_INDEX_URL -u UV_INDEX -u UV_DEFAULT_INDEX -u UV_FIND_LINKS \
    UV_NO_CONFIG=1 "$uv" pip compile "$source" --quiet --universal --python-version 3.11 \
    --generate-hashes --index-url https://pypi.org/simple --no-emit-index-url \
    --no-emit-find-links --custom-compile-command scripts/lock.sh "${upgrade[@]}" \
    --output-file "$tmp" "$@"
  { python3 scripts/lockcheck.py --fingerprint "$name"; cat "$tmp"; } >"$out"
  rm -f "$tmp"
  echo "[lock] wrote $out" >&2
}

compile runtime pyproject.toml
# The dev lock agrees with the runtime lock on every shared package.
compile dev pyproject.toml --extra dev --constraint requirements/runtime.txt
compile deploy-lint requirements/deploy-lint.in
python3 scripts/lockcheck.py
