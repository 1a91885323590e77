#!/usr/bin/env bash
# Runs every fuzz test of soll for a bounded time each (default 5s): the
# manifest decoder, the webhook payload parsers and repository matching,
# the API's JSON decoding, URL normalisation and RBAC subject parsing.
# `go test` alone runs only their seed corpora; this explores further.
# New failing inputs are written to the package's testdata/fuzz/ by go test:
# commit them with the fix, so they stay regression tests.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-5s}
GO=${GO:-go}
# FUZZ_SKIP: a regular expression of import paths to leave out. Fuzzing
# instruments every package a test binary links, so a package that links
# the whole of soll (Helm, Kustomize, client-go) takes many minutes to
# build for fuzzing; CI leaves those out and runs only their seeds, which
# `go test` always runs.
skip=${FUZZ_SKIP:-'^$'}
# Each fuzz test is found by name, so a new one is run without listing it.
mapfile -t pkgs < <($GO list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./... )
for pkg in "${pkgs[@]}"; do
  if [[ $pkg =~ $skip ]]; then
    echo "== fuzz $pkg: skipped (FUZZ_SKIP), its seeds run with go test"
    continue
  fi
  dir=$($GO list -f '{{.Dir}}' "$pkg")
  for target in $(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)\(' "$dir"/*_test.go 2>/dev/null | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/' | sort -u); do
    echo "== fuzz $pkg $target ($fuzztime)"
    $GO test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
  done
done
