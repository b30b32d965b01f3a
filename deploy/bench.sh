#!/usr/bin/env bash
# make bench: the speed and memory targets, each printed as a ratio against
# a baseline measured in this same run (never asserted in tests).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
deploy/setup.sh farm >&2
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
eps=$(metric BenchmarkPipeline/stored "$out/pipe" events/s)
jeps=$(metric BenchmarkPipeline/jsonl "$out/pipe" events/s)
printf 'decoded and judged: %s events/s from the stored (binary) form, %s from JSONL: ratio to the 500,000/s goal %s, stored/JSONL %s\n' \
	"$eps" "$jeps" "$(ratio "$eps" 500000)" "$(ratio "$eps" "$jeps")"
go test -run '^$' -bench '^BenchmarkSustained$' -benchtime 1x ./bpf | tee "$out/sus" >&2
printf 'sustained in a watched cgroup: %s events/s, %s lost (goal: 0 lost at 100,000/s)\n' "$(metric BenchmarkSustained "$out/sus" events/s)" "$(metric BenchmarkSustained "$out/sus" lost/op)"

echo "== memory under a flood (fumehood analyze --trace of a package that opens files 1.1 million times)"
go test -run '^$' -bench '^BenchmarkAnalyzeFlood$' -benchtime 1x -timeout 30m ./cmd/fumehood | tee "$out/flood" >&2
rss=$(metric BenchmarkAnalyzeFlood "$out/flood" peak-rss-MiB)
printf 'peak RSS %s MiB: ratio to the 512 MiB goal %s (goal <= 1.00); trace file %s MiB\n' "$rss" "$(ratio "$rss" 512)" "$(metric BenchmarkAnalyzeFlood "$out/flood" trace-MiB)"

echo "== farm API (open loop at 200 requests/s, 100,000 stored analyses, loopback; SQLite and a blob dir, then PostgreSQL and S3)"
go test -run '^$' -bench '^BenchmarkAPI$' -benchtime "${BENCH_API_N:-4000}x" -timeout 40m ./api | tee "$out/api" >&2
for st in sqlite postgres; do
	for k in submit get; do
		p50=$(metric "BenchmarkAPI/$st" "$out/api" "$k-p50-ms")
		p99=$(metric "BenchmarkAPI/$st" "$out/api" "$k-p99-ms")
		printf '%s %s: p50 %s ms, p99 %s ms: p99 ratio to the 20 ms goal %s (goal <= 1.00)\n' "$st" "$k" "$p50" "$p99" "$(ratio "$p99" 20)"
	done
done

echo "== store List (a page of 50 of 100,000 analyses; first page and page 100 of each filter)"
go test -run '^$' -bench '^BenchmarkList$' -timeout 20m ./store | tee "$out/list" >&2
worst=0
for q in all ecosystem name verdict status rule since rule+verdict; do
	re=${q//+/[+]} # a regular expression of the name
	first=$(nsop "BenchmarkList/$re/first" "$out/list")
	deep=$(nsop "BenchmarkList/$re/page100" "$out/list")
	[ -n "$first" ] && [ -n "$deep" ] || { echo "$q: missing results"; continue; }
	printf '%s: first %.2f ms, page 100 %.2f ms: deep/first %s (goal: about 1, pages on an index)\n' "$q" "$(ratio "$first" 1000000)" "$(ratio "$deep" 1000000)" "$(ratio "$deep" "$first")"
	worst=$(awk -v a="$worst" -v b="$first" -v c="$deep" 'BEGIN { m = a; if (b > m) m = b; if (c > m) m = c; print m }')
done
printf 'slowest page %.2f ms: ratio to the 20 ms API goal %s\n' "$(ratio "$worst" 1000000)" "$(ratio "$worst" 20000000)"

echo "== re-judge (a real stored analysis, express 4.19.2, 6,400 events: blob read, decode, judge, store; one core, then two cores; two tasks a core, as a worker runs them; SQLite and a blob dir, then PostgreSQL and S3)"
for p in 1 2; do
	GOMAXPROCS=$p go test -run '^$' -bench '^BenchmarkRejudge$' -benchtime 3s ./worker | tee "$out/rejudge$p" >&2
done
for st in sqlite postgres; do
	r1=$(metric "BenchmarkRejudge/$st" "$out/rejudge1" rejudged/s)
	r2=$(metric "BenchmarkRejudge/$st" "$out/rejudge2" rejudged/s)
	printf '%s: re-judged %s/s on one core, %s/s on two: two-core ratio to the 200/s goal %s, two/one %s\n' "$st" "$r1" "$r2" "$(ratio "$r2" 200)" "$(ratio "$r2" "$r1")"
done
pg=$(metric BenchmarkRejudge/postgres "$out/rejudge2" rejudged/s)
lite=$(metric BenchmarkRejudge/sqlite "$out/rejudge2" rejudged/s)
printf 're-judge from PostgreSQL and S3 against SQLite and a blob dir, two cores: ratio %s\n' "$(ratio "$pg" "$lite")"

echo "== farm throughput (serve + worker processes, 1 analysis at a time each, a small package without install script; SQLite and a blob dir, then PostgreSQL and S3)"
go test -run '^$' -bench '^BenchmarkFarm$' -benchtime "${BENCH_FARM_N:-20}x" -timeout 40m ./cmd/fumehood | tee "$out/farm" >&2
f1=$(metric BenchmarkFarm/sqlite/workers=1 "$out/farm" analyses/min)
f2=$(metric BenchmarkFarm/sqlite/workers=2 "$out/farm" analyses/min)
printf '1 worker %s/min: ratio to the 60/min goal %s; 2 workers %s/min: 2/1 ratio %s (2 cores)\n' "$f1" "$(ratio "$f1" 60)" "$f2" "$(ratio "$f2" "$f1")"
p1=$(metric BenchmarkFarm/postgres/workers=1 "$out/farm" analyses/min)
p2=$(metric BenchmarkFarm/postgres/workers=2 "$out/farm" analyses/min)
printf 'PostgreSQL and S3 against SQLite and a blob dir: 1 worker %s/min, ratio %s; 2 workers %s/min, ratio %s (goal >= 0.90)\n' \
	"$p1" "$(ratio "$p1" "$f1")" "$p2" "$(ratio "$p2" "$f2")"

echo "== registry firewall (a cached packument as npm asks for it; 300-package installs with the real npm, fresh npm cache each)"
go test -run '^$' -bench '^BenchmarkPackument$' -benchtime "${BENCH_PACKUMENT_N:-3000}x" ./proxy | tee "$out/packument" >&2
p50=$(metric BenchmarkPackument/cached "$out/packument" p50-ms)
p99=$(metric BenchmarkPackument/cached "$out/packument" p99-ms)
s50=$(metric BenchmarkPackument/store "$out/packument" p50-ms)
s99=$(metric BenchmarkPackument/store "$out/packument" p99-ms)
printf 'cached packument: p50 %s ms, p99 %s ms: p99 ratio to the 5 ms goal %s (goal <= 1.00)\n' "$p50" "$p99" "$(ratio "$p99" 5)"
printf 'decision cache: p50 %s ms, p99 %s ms deciding from the store: cached/store p50 %s, p99 %s\n' \
	"$s50" "$s99" "$(ratio "$p50" "$s50")" "$(ratio "$p99" "$s99")"
go test -run '^$' -bench '^BenchmarkInstall$' -benchtime "${BENCH_INSTALL_N:-3}x" -timeout 30m ./proxy | tee "$out/install" >&2
direct=$(nsop BenchmarkInstall/direct "$out/install")
viaproxy=$(nsop BenchmarkInstall/proxy "$out/install")
printf 'install of 300 packages: direct %.1f s, through the warm firewall %.1f s: ratio %s (goal <= 1.20)\n' \
	"$(ratio "$direct" 1000000000)" "$(ratio "$viaproxy" 1000000000)" "$(ratio "$viaproxy" "$direct")"
