#!/bin/sh
# reconix-wait-for-keys [-t SECONDS] [KEY...]
# Wait until the named keys are on this host: a name is a file in /run/keys, an absolute path is that file. With no
# name, wait for /run/keys/done, which Reconix writes once every declared key is in place. Exit 0 when they are,
# 1 after SECONDS (default: no limit). A service that needs its keys runs this first, as a NixOS unit would order
# itself after keys.target.
set -eu
limit=
if [ "${1:-}" = "-t" ]; then
  limit=${2:?usage: reconix-wait-for-keys [-t SECONDS] [KEY...]}
  shift 2
fi
[ "$#" -gt 0 ] || set -- /run/keys/done
start=$(date +%s)
for key in "$@"; do
  case "$key" in
  /*) file=$key ;;
  *) file=/run/keys/$key ;;
  esac
  until [ -f "$file" ]; do
    if [ -n "$limit" ] && [ $(($(date +%s) - start)) -ge "$limit" ]; then
      echo "reconix-wait-for-keys: $file is not there after ${limit}s" >&2
      exit 1
    fi
    sleep 0.2
  done
done
