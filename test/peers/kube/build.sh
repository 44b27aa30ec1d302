#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and etcd at the versions pinned in go.mod into
# a per-version cache, and prints the bin directory as the last stdout line.
# A run that finds all three binaries already there builds nothing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kube_version="$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$here/go.mod")"
[[ "$kube_version" =~ ^v([0-9]+)\.([0-9]+)\. ]] || {
  echo "build.sh: cannot read the k8s.io/kubernetes version from go.mod" >&2
  exit 1
}
major="${BASH_REMATCH[1]}"
minor="${BASH_REMATCH[2]}"

cache="${RECONIX_PEER_CACHE:-$HOME/.cache/reconix/peers}"
bin="$cache/kube-$kube_version/bin"
built() { [[ -x "$bin/kube-apiserver" && -x "$bin/kubectl" && -x "$bin/etcd" ]]; }
if built; then
  echo "$bin"
  exit 0
fi

# Test files started in parallel on a cold cache wait for one build.
mkdir -p "$cache"
exec 9>"$cache/kube-$kube_version.lock"
flock 9
if built; then
  echo "$bin"
  exit 0
fi

# The toolchain here must never be swapped for a downloaded one, and the
# binaries are static so they run on any Linux host.
export GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local CGO_ENABLED=0

# Without these the binaries report v0.0.0-master, so `kubectl version` and the
# server's /version would not show the release that was built.
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

# Build beside the cache and move in at the end, so an interrupted build never
# leaves a bin directory that looks complete.
mkdir -p "$(dirname "$bin")"
tmp="$(mktemp -d "$(dirname "$bin")/bin.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"

start=$SECONDS
cd "$here"
go build -p 2 -trimpath -ldflags "$ldflags" -o "$tmp/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
go build -p 2 -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3
echo "build.sh: built kube $kube_version peers in $((SECONDS - start))s" >&2

rm -rf "$bin"
mv "$tmp" "$bin"
trap - EXIT
echo "$bin"
