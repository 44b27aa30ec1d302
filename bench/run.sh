#!/bin/sh
# Builds Reconix and runs its benchmarks side by side with their baselines, then prints a summary:
#   1. closure copy: copyClosure over ssh2 vs nix-copy-closure, same closure, a fresh host per copy
#   2. rollout of a configuration change to 20 local hosts vs a sequential nix-copy-closure + ssh loop and vs the
#      same commands run for all hosts at once by xargs -P 20
#   3. no-op redeploy of those 20 hosts (asserts nothing copied, nothing activated; counts Nix evaluations)
# Needs root (local hosts are mount namespaces). Knobs (environment): COPY_ITERATIONS (7), ROLLOUT_ITERATIONS (3),
# NOOP_ITERATIONS (3), HOSTS (20), MAX_PARALLEL (= HOSTS), RESULTS_DIR (keep the JSON results there).
# The synthetic closures stay built in RECONIX_BENCH_CACHE (/var/tmp/reconix-bench) between runs.
#
# The project is built (same tsconfig) into a private snapshot, not into dist/: a rebuild of dist/ while the
# benchmarks run would otherwise change the code under measurement half-way.
set -u
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "bench/run.sh needs root: local hosts are mount namespaces with their own /nix" >&2
  exit 2
fi

snapshot=$(mktemp -d /tmp/reconix-bench-build-XXXXXX)
results=${RESULTS_DIR:-$snapshot/results}
trap 'rm -rf "$snapshot"' EXIT
mkdir -p "$results"
cp package.json "$snapshot/"
cp -r nix "$snapshot/nix"
ln -s "$PWD/node_modules" "$snapshot/node_modules"
npx tsc -p tsconfig.json --outDir "$snapshot/dist" || {
  echo "bench/run.sh: the build failed" >&2
  exit 2
}
bench=$snapshot/dist/bench

status=0
node "$bench/closure-copy.js" --iterations "${COPY_ITERATIONS:-7}" --json "$results/closure-copy.json" || status=1
node "$bench/rollout.js" --hosts "${HOSTS:-20}" --max-parallel "${MAX_PARALLEL:-${HOSTS:-20}}" \
  --iterations "${ROLLOUT_ITERATIONS:-3}" --noop "${NOOP_ITERATIONS:-3}" --json "$results/rollout.json" || status=1
node "$bench/summary.js" "$results"
exit "$status"
