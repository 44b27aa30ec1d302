#!/usr/bin/env bash
# Install what Reconix needs on a fresh Debian machine (run as root), then build it.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/apt-ensure.sh nix-bin openssh-server openssl git util-linux

# Nix builds as unprivileged build users of the group 'nixbld' (build-users-group's default). Debian's nix-bin
# leaves creating them to nix-setup-systemd, which needs systemd; make them here as the multi-user install does.
getent group nixbld >/dev/null || groupadd --system nixbld
for i in $(seq 1 8); do
  id -u "nixbld$i" >/dev/null 2>&1 ||
    useradd --system --no-create-home --home-dir /var/empty --shell /usr/sbin/nologin \
      --gid nixbld --groups nixbld --comment "Nix build user $i" "nixbld$i"
done

# Nix: no binary cache is reachable, and the new CLI is needed for path-info.
conf=/etc/nix/nix.conf
mkdir -p /etc/nix
touch "$conf"
grep -q '^substituters' "$conf" || echo 'substituters =' >>"$conf"
grep -q '^experimental-features' "$conf" || echo 'experimental-features = nix-command' >>"$conf"
grep -q '^sandbox' "$conf" || echo 'sandbox = false' >>"$conf"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
