#!/bin/sh
# Exports every file named BOOKSTORE_* in the container's secrets directory as the variable of
# that name, then runs the command. docker-compose.yml mounts a per-service volume there,
# written by its one-shot `secrets` step, so URLs with passwords never appear in the compose
# file, in `docker inspect` or in the image. Without the directory it changes nothing.
set -eu
dir=${BOOKSTORE_SECRETS_DIR:-/run/bookstore-secrets}
if [ -d "$dir" ]; then
  for file in "$dir"/BOOKSTORE_*; do
    [ -f "$file" ] || continue
    name=$(basename "$file")
    case $name in *[!A-Z0-9_]*) continue ;; esac
    export "$name=$(cat "$file")"
  done
fi
exec "$@"
