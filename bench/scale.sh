#!/bin/sh
# Builds Reconix into a private snapshot and runs the scale benchmark (bench/scale.ts) from it, so that a rebuild
# of dist/ meanwhile does not change the code under measurement. Arguments go to bench/scale.js, e.g.
#   bash bench/scale.sh --sizes 10,100,300,1000 --json /tmp/scale.json
#   bash bench/scale.sh --sizes 10,100 --target ec2 --resources 500
#   bash bench/scale.sh --sizes 10,100 --resident   (one controller process per fleet, its SSH connections kept)
# Needs root (local hosts are mount namespaces); the ec2 variant and --resources need moto_server.
set -u
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "bench/scale.sh needs root: local hosts are mount namespaces with their own /nix" >&2
  exit 2
fi

snapshot=$(mktemp -d /tmp/reconix-bench-build-XXXXXX)
trap 'rm -rf "$snapshot"' EXIT
cp package.json "$snapshot/"
cp -r nix "$snapshot/nix"
ln -s "$PWD/node_modules" "$snapshot/node_modules"
npx tsc -p tsconfig.json --outDir "$snapshot/dist" || {
  echo "bench/scale.sh: the build failed" >&2
  exit 2
}
# The fleet's hosts are processes and sockets of their own: 1,000 hosts need more descriptors than a shell's 1024.
ulimit -n 65536 2>/dev/null || true
node "$snapshot/dist/bench/scale.js" "$@"
