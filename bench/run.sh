#!/bin/sh
# Builds Reconix and runs its benchmarks side by side with their baselines, then prints a summary:
#   1. closure copy: copyClosure over ssh2 vs nix-copy-closure, same closure, a fresh host per copy
#   2. rollout of a configuration change to 20 local hosts vs a sequential nix-copy-closure + ssh loop
#   3. no-op redeploy of those 20 hosts (asserts nothing copied, nothing activated)
# Needs root (local hosts are mount namespaces). Knobs (environment): COPY_ITERATIONS (7), ROLLOUT_ITERATIONS (3),
# NOOP_ITERATIONS (3), HOSTS (20), MAX_PARALLEL (= HOSTS), RESULTS_DIR (keep the JSON results there).
# The synthetic closures stay built in RECONIX_BENCH_CACHE (/var/tmp/reconix-bench) between runs.
set -u
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "bench/run.sh needs root: local hosts are mount namespaces with their own /nix" >&2
  exit 2
fi
npm run --silent build || {
  echo "bench/run.sh: the build failed" >&2
  exit 2
}

if [ -n "${RESULTS_DIR:-}" ]; then
  results=$RESULTS_DIR
  mkdir -p "$results"
else
  results=$(mktemp -d /tmp/reconix-bench-results-XXXXXX)
  trap 'rm -rf "$results"' EXIT
fi

status=0
node dist/bench/closure-copy.js --iterations "${COPY_ITERATIONS:-7}" --json "$results/closure-copy.json" || status=1
node dist/bench/rollout.js --hosts "${HOSTS:-20}" --max-parallel "${MAX_PARALLEL:-${HOSTS:-20}}" \
  --iterations "${ROLLOUT_ITERATIONS:-3}" --noop "${NOOP_ITERATIONS:-3}" --json "$results/rollout.json" || status=1
node dist/bench/summary.js "$results"
exit "$status"
