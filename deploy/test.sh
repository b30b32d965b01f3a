#!/usr/bin/env bash
# Runs every test, the root integration tests included (real containerd,
# eBPF, network namespaces, Redis), after installing and starting what they
# need. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup.sh deps
export PATH="/usr/local/go/bin:$PATH"
export FUMEHOOD_CORPUS="${FUMEHOOD_CORPUS:-$(cd .. && pwd)/shared/corpus}"

echo "==> lint" >&2
unformatted=$(gofmt -l $(git ls-files '*.go'))
[ -z "$unformatted" ] || { echo "gofmt needed:"; echo "$unformatted"; exit 1; }
go vet ./...

echo "==> tests" >&2
go test -count=1 -timeout 70m -p 1 ./...
