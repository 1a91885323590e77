#!/usr/bin/env bash
# Runs soll's whole test suite: the localcluster module's tests, then every
# package of soll (unit, integration and end-to-end tests).
#
# Integration tests share one local Kubernetes cluster. Unless
# SOLL_TEST_KUBECONFIG already points at one, this script builds the
# control-plane binaries (cached), starts a cluster in .cluster/test, and
# stops it on exit, whatever the outcome. Arguments are passed to go test.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
launcher=$PWD/bin/localcluster
$GO -C localcluster build -o "$launcher" ./cmd/localcluster

if [[ -z "${SOLL_TEST_KUBECONFIG:-}" ]]; then
  dir=$PWD/.cluster/test
  # A cluster left by an interrupted run would hold ports and memory.
  "$launcher" down --dir "$dir" >/dev/null 2>&1 || true
  trap '"$launcher" down --dir "$dir" >/dev/null || echo "warning: could not stop the test cluster in $dir" >&2' EXIT
  echo "== starting the test cluster in $dir"
  "$launcher" up --dir "$dir"
  export SOLL_TEST_KUBECONFIG=$dir/kubeconfig
fi

echo "== localcluster module"
$GO -C localcluster test "$@" ./...
echo "== soll"
$GO test "$@" ./...
