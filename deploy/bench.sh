#!/usr/bin/env bash
# make bench: the speed and memory targets, each printed as a ratio against
# a baseline measured in this same run (never asserted in tests).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
deploy/setup.sh deps >&2
image=$(bin/fumehood image build 2>/dev/null)
n=${BENCH_N:-20}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# nsop FILE NAME: the ns/op of benchmark NAME in go test output FILE.
nsop() { awk -v n="$1" '$1 ~ "^"n"(-[0-9]+)?$" {for (i=2;i<=NF;i++) if ($(i+1)=="ns/op") {print $i; exit}}' "$2"; }
# metric FILE NAME UNIT: a reported metric of benchmark NAME.
metric() { awk -v n="$1" -v u="$3" '$1 ~ "^"n"(-[0-9]+)?$" {for (i=2;i<=NF;i++) if ($(i+1)==u) {print $i; exit}}' "$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }

echo "== sandbox overhead per phase (create, start, wait, cleanup; fresh snapshot; command true)"
go test -run '^$' -bench '^BenchmarkPhase$' -benchtime "${n}x" ./sandbox | tee "$out/phase" >&2
ours=$(nsop BenchmarkPhase "$out/phase")
start=$(date +%s%N)
for i in $(seq 1 "$n"); do
	ctr -n fumehood run --rm "$image" "bench-ctr-$$-$i" true >/dev/null
done
ctrns=$(( ($(date +%s%N) - start) / n ))
printf 'fumehood %.1f ms, ctr run --rm %.1f ms: ratio %s (goal <= 1.20)\n' "$(ratio "$ours" 1000000)" "$(ratio "$ctrns" 1000000)" "$(ratio "$ours" "$ctrns")"

echo "== tracing overhead (same workload untraced, traced by our probes, under strace -f)"
go test -run '^$' -bench '^BenchmarkWorkload' -benchtime "${BENCH_WORKLOAD_N:-3}x" -timeout 30m ./bpf | tee "$out/work" >&2
for w in openclose npm; do
	un=$(nsop "BenchmarkWorkload/untraced/$w" "$out/work")
	tr=$(nsop "BenchmarkWorkload/traced/$w" "$out/work")
	st=$(nsop "BenchmarkWorkload/strace/$w" "$out/work")
	[ -n "$un" ] && [ -n "$tr" ] && [ -n "$st" ] || { echo "$w: missing results"; continue; }
	ov=$(awk -v a="$tr" -v b="$un" 'BEGIN { printf "%.1f", (a - b) * 100 / b }')
	sov=$(awk -v a="$st" -v b="$un" 'BEGIN { printf "%.1f", (a - b) * 100 / b }')
	printf '%s: traced/untraced %s (overhead %s%%), strace/untraced %s (overhead %s%%), strace overhead / ours %s (goals: npm overhead <= 10%%, >= 5x less than strace)\n' \
		"$w" "$(ratio "$tr" "$un")" "$ov" "$(ratio "$st" "$un")" "$sov" "$(ratio "$(awk -v a="$st" -v b="$un" 'BEGIN{print a-b}')" "$(awk -v a="$tr" -v b="$un" 'BEGIN{print a-b}')")"
done

echo "== event pipeline (decode + judge on one core, from a recorded trace)"
GOMAXPROCS=1 go test -run '^$' -bench '^BenchmarkPipeline$' -benchtime 3s ./worker | tee "$out/pipe" >&2
eps=$(metric BenchmarkPipeline "$out/pipe" events/s)
printf 'decoded and judged: %s events/s: ratio to the 500,000/s goal %s\n' "$eps" "$(ratio "$eps" 500000)"
go test -run '^$' -bench '^BenchmarkSustained$' -benchtime 1x ./bpf | tee "$out/sus" >&2
printf 'sustained in a watched cgroup: %s events/s, %s lost (goal: 0 lost at 100,000/s)\n' "$(metric BenchmarkSustained "$out/sus" events/s)" "$(metric BenchmarkSustained "$out/sus" lost/op)"
