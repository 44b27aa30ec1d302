#!/usr/bin/env bash
# Fetches Flux source-controller's CRDs (GitRepository, OCIRepository) from its Go module at a pinned version
# into a per-version cache, and prints the directory as the last stdout line. A second run fetches nothing.
set -euo pipefail

version=v1.9.6
cache="${RECONIX_PEER_CACHE:-$HOME/.cache/reconix/peers}"
dir="$cache/flux-source-controller-$version/crds"
want=(source.toolkit.fluxcd.io_gitrepositories.yaml source.toolkit.fluxcd.io_ocirepositories.yaml)
fetched() { for f in "${want[@]}"; do [[ -s "$dir/$f" ]] || return 1; done; }
if fetched; then
  echo "$dir"
  exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/flux-source-controller-$version.lock"
flock 9
if fetched; then
  echo "$dir"
  exit 0
fi

export GOTOOLCHAIN=local GOFLAGS=-mod=mod
module="$(go mod download -json "github.com/fluxcd/source-controller@$version" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')"
[[ -d "$module/config/crd/bases" ]] || {
  echo "crds.sh: github.com/fluxcd/source-controller@$version has no config/crd/bases" >&2
  exit 1
}
tmp="$(mktemp -d "$cache/flux-crds.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
for f in "${want[@]}"; do cp "$module/config/crd/bases/$f" "$tmp/"; done
chmod 755 "$tmp"
chmod 644 "$tmp"/*
mkdir -p "$(dirname "$dir")"
rm -rf "$dir"
mv "$tmp" "$dir"
echo "$dir"
