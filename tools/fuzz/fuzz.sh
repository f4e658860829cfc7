#!/usr/bin/env bash
# tools/fuzz/fuzz.sh [FUZZTIME]: run every fuzz target of the module for FUZZTIME each
# (default 30s; the acceptance runs used 10m). Crashers land in the
# package's testdata/fuzz/<Target>/ and make the script fail.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
t=${1:-30s}
fail=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)' "$dir"/*_test.go 2>/dev/null | awk '{print $2}' | sed 's/(.*//' | sort -u); do
    echo "== $pkg $target ($t)"
    if ! go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$t"; then fail=1; fi
  done
done
exit $fail
