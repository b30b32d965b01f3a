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

# The corpus evaluation as an analyst runs it: it fails below 100%.
echo "==> fumehood eval $FUMEHOOD_CORPUS" >&2
go build -o bin/fumehood ./cmd/fumehood
bin/fumehood eval --state /run/fumehood-eval "$FUMEHOOD_CORPUS"

# Every fuzz target of a parser of untrusted input, briefly (the seed
# corpus already ran above as ordinary tests).
echo "==> fuzz (${FUZZTIME:=10s} each)" >&2
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do
	pkg=./$(dirname "${f#./}")
	for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
		echo "fuzz $pkg $target" >&2
		out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1) || { echo "$out"; exit 1; }
	done
done
echo "fuzz: all targets passed" >&2
