#!/usr/bin/env bash
# Runs every test, the root integration tests included (real containerd,
# eBPF, network namespaces, Redis, PostgreSQL, an S3 server) and the farm
# on several hosts (make multihost), after installing and starting what they
# need. This is what CI runs (.ci/run). Each stage prints how long it took,
# and the tests end with the slowest ones, so that the next slowdown is seen
# before it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
export FUMEHOOD_CORPUS="${FUMEHOOD_CORPUS:-$(cd .. && pwd)/shared/corpus}"
adversarial="${FUMEHOOD_CORPUS_ADVERSARIAL:-$(cd .. && pwd)/shared/corpus-adversarial}"

t0=$SECONDS
# stage NAME CMD...: runs CMD and prints its duration, also when it fails.
# CMD runs in a subshell with errexit on: called as "CMD || ...", a
# function would run with errexit ignored, and a failing command followed
# by a passing one would pass.
stage() {
	local name=$1 start=$SECONDS rc
	shift
	echo "==> $name" >&2
	set +e
	(
		set -e
		"$@"
	)
	rc=$?
	set -e
	printf '==> %s: %ds (%s)\n' "$name" $((SECONDS - start)) "$([ $rc = 0 ] && echo ok || echo "failed, exit $rc")" >&2
	return $rc
}

lint() {
	local unformatted
	unformatted=$(gofmt -l $(git ls-files '*.go'))
	[ -z "$unformatted" ] || { echo "gofmt needed:"; echo "$unformatted"; return 1; }
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
}

# tests runs go test through gotestsum (a go tool of go.mod): one line per
# package, failures in full, then the 15 slowest tests of the run.
tests() {
	local json rc=0
	json=$(mktemp)
	go tool gotestsum --format pkgname-and-test-fails --jsonfile "$json" -- \
		-count=1 -timeout 70m -p 1 ./... || rc=$?
	echo "slowest tests:" >&2
	go tool gotestsum tool slowest --jsonfile "$json" --threshold 2s >"$json.slow" || true
	head -15 "$json.slow" >&2
	rm -f "$json" "$json.slow"
	return $rc
}

# make multihost: a farm of two worker hosts (network namespaces) on a
# Redis, PostgreSQL and S3 server of its own, one host killed and the
# servers restarted meanwhile (internal/multihost). It fails, never skips,
# when something it needs is missing.
multihost() {
	make multihost
}

# The corpus evaluations as an analyst runs them: each fails below 100%.
# The adversarial corpus holds one evasive sample per family of techniques;
# evaluate/redteam, packages written against the README to get through.
evaluation() {
	go build -o bin/fumehood ./cmd/fumehood
	bin/fumehood eval --state /run/fumehood-eval "$FUMEHOOD_CORPUS"
	bin/fumehood eval --state /run/fumehood-eval "$adversarial"
	bin/fumehood eval --state /run/fumehood-eval evaluate/redteam
}

# Every fuzz target of a parser of untrusted input, briefly (the seed
# corpus already ran above as ordinary tests). The loop runs in this shell,
# not in a pipeline's subshell, so that a failing target fails the stage.
fuzz() {
	local f pkg target out
	local -a files
	mapfile -t files < <(grep -rl --include='*_test.go' '^func Fuzz' . | sort)
	for f in "${files[@]}"; do
		pkg=./$(dirname "${f#./}")
		for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
			echo "fuzz $pkg $target" >&2
			out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1) || { echo "$out"; return 1; }
		done
	done
	echo "fuzz: all targets passed" >&2
}
: "${FUZZTIME:=5000x}"

stage "set-up (deploy/setup.sh farm)" deploy/setup.sh farm
stage lint lint
stage tests tests
stage "make multihost" multihost
stage "fumehood eval $FUMEHOOD_CORPUS $adversarial evaluate/redteam" evaluation
stage "fuzz ($FUZZTIME each)" fuzz
printf '==> all stages: %ds\n' $((SECONDS - t0)) >&2
