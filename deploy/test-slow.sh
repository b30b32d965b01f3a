#!/usr/bin/env bash
# make test-slow: the whole suite (deploy/test.sh) on a machine slowed on
# purpose, to prove that no test depends on how fast the machine is: the
# sandbox's per-phase CPU limit is halved (FUMEHOOD_CPUS=0.5 instead of 1)
# and the test processes are held to half a core by a CPU cgroup quota
# (cgroup v1 cpu.cfs_quota_us; cgroup2's cpu.max where there is no v1 cpu
# controller). The set-up (packages, containerd, image) runs first at full
# speed: it is not under test. Containers are not in the quota (containerd
# starts them), only limited by the halved phase limit.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
[ "$(id -u)" = 0 ] || { echo "test-slow must run as root" >&2; exit 1; }
deploy/setup.sh farm
# Compile the test binaries at full speed too: the suite is under test, not
# the compiler.
go test -count=1 -run '^$' ./... >/dev/null
go build ./... && go tool gotestsum --version >/dev/null

name=fumehood-slow-$$
if [ -d /sys/fs/cgroup/cpu ] && [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
	cg=/sys/fs/cgroup/cpu/$name
	mkdir "$cg"
	echo 100000 >"$cg/cpu.cfs_period_us"
	echo 50000 >"$cg/cpu.cfs_quota_us"
else
	base=/sys/fs/cgroup
	[ -f "$base/cgroup.controllers" ] || base=/sys/fs/cgroup/unified
	cg=$base/$name
	mkdir "$cg"
	echo "50000 100000" >"$cg/cpu.max"
fi
# Leave the cgroup (its processes move back to the root) before removing it.
trap 'echo $$ >"$(dirname "$cg")/cgroup.procs" 2>/dev/null || true; rmdir "$cg" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
echo $$ >"$cg/cgroup.procs"
echo "==> test-slow: this shell and its children in $cg (half a core); FUMEHOOD_CPUS=0.5" >&2
export FUMEHOOD_CPUS=0.5
deploy/test.sh
