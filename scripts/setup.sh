#!/usr/bin/env bash
# Install what Reconix needs on a fresh Debian machine (run as root), then build it.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/apt-ensure.sh nix-bin openssh-server openssl git util-linux

# Nix: no binary cache is reachable, and the new CLI is needed for path-info.
conf=/etc/nix/nix.conf
mkdir -p /etc/nix
touch "$conf"
grep -q '^substituters' "$conf" || echo 'substituters =' >>"$conf"
grep -q '^experimental-features' "$conf" || echo 'experimental-features = nix-command' >>"$conf"
grep -q '^sandbox' "$conf" || echo 'sandbox = false' >>"$conf"
# Debian's nix-bin is built to run builds as the users of the group 'nixbld', which only its nix-setup-systemd
# package creates (with systemd-sysusers). Reconix runs Nix as root against the local store, as a single-user
# install does: build as the calling user, with no build users to create.
grep -q '^build-users-group' "$conf" || echo 'build-users-group =' >>"$conf"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
