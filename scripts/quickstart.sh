#!/usr/bin/env bash
# Quickstart: set up this machine, then deploy the apache example (a proxy and two backends) to three local
# hosts that Reconix creates here, and show what it did. Run as root. Undo with:
#   node dist/src/cli/bin.js -f examples/apache/local.yaml destroy
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
export RECONIX_STATE_DIR="${RECONIX_STATE_DIR:-$PWD/.reconix}"
reconix() { node dist/src/cli/bin.js -f examples/apache/local.yaml "$@"; }

echo "== plan"
reconix plan || true
echo "== deploy"
reconix deploy
echo "== deploy again (nothing to do)"
reconix deploy
echo "== info"
reconix info
proxy=$(node -e 'const s=require(process.argv[1]);console.log(s.machines.proxy.activated.system)' \
  "$RECONIX_STATE_DIR/deployments/apache-local.json")
echo "== the proxy's configuration, built from the backends' addresses ($proxy/etc/httpd/proxy.conf)"
cat "$proxy/etc/httpd/proxy.conf"
echo "== check"
reconix check
echo
echo "State is in $RECONIX_STATE_DIR. Remove the three hosts with:"
echo "  RECONIX_STATE_DIR=$RECONIX_STATE_DIR node dist/src/cli/bin.js -f examples/apache/local.yaml destroy"
