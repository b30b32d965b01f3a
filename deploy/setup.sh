#!/usr/bin/env bash
# Installs and starts what fumehood needs on a Debian 12 machine, as root.
# Idempotent: installs, starts or builds only what is missing.
#   deploy/setup.sh deps    packages, containerd, Redis, tracefs, the binary, the sandbox image
#   deploy/setup.sh sample  deps, then analyse the bundled harmless sample
#   deploy/setup.sh farm    deps, then a private PostgreSQL cluster and S3 server
#                           (deploy/services.sh) for the store's tests and a trial farm
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
export PATH="/usr/local/go/bin:$PATH"
log() { printf '==> %s\n' "$*" >&2; }

[ "$(id -u)" = 0 ] || { echo "setup must run as root" >&2; exit 1; }

mode=${1:-deps}
# chromium and a font: the analyst pages' browser test (headless).
packages=(containerd runc debootstrap curl redis-server clang llvm libbpf-dev bpftool iproute2 nftables tcpdump strace ca-certificates make systemd chromium fonts-dejavu-core)
[ "$mode" = farm ] && packages+=(postgresql)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# The host's npm configuration names the npm registry (unless
# FUMEHOOD_NPM_REGISTRY does); Debian's npm is enough for that. Dependencies
# are resolved with the image's own node and npm, not the host's.
command -v npm >/dev/null || missing+=(npm)
# Debian's pip: the PyPI firewall's end-to-end test downloads through it.
command -v pip3 >/dev/null || missing+=(python3-pip)
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
command -v go >/dev/null || { echo "Go is missing: install Go 1.26 (see go.mod) into /usr/local/go" >&2; exit 1; }

sock=/run/containerd/containerd.sock
if ! ctr --address "$sock" version >/dev/null 2>&1; then
	log "starting containerd"
	if [ -d /run/systemd/system ]; then
		systemctl start containerd
	else
		nohup containerd >/var/log/fumehood-containerd.log 2>&1 &
	fi
	for _ in $(seq 1 50); do ctr --address "$sock" version >/dev/null 2>&1 && break; sleep 0.2; done
	ctr --address "$sock" version >/dev/null || { echo "containerd did not start: see /var/log/fumehood-containerd.log" >&2; exit 1; }
fi

# The farm needs Redis with append-only persistence and no eviction (asynq
# loses leases and tasks otherwise).
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
	log "starting redis"
	mkdir -p /var/lib/fumehood/redis
	redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --dir /var/lib/fumehood/redis \
		--appendonly yes --appendfsync everysec --maxmemory-policy noeviction \
		--logfile /var/log/fumehood-redis.log
	for _ in $(seq 1 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing

log "building bin/fumehood"
go build -o bin/fumehood ./cmd/fumehood

log "sandbox image (built once per recipe, cached with its downloads in /var/cache/fumehood)"
bin/fumehood image build >/dev/null

if [ "$mode" = farm ]; then
	# Loopback ports of their own (5439, 9439), never the default ones of
	# a shared server; testenv.Postgres and testenv.S3 look here.
	deploy/services.sh postgres start /var/cache/fumehood/postgres 5439 >/dev/null
	deploy/services.sh s3 start /var/cache/fumehood/s3 9439 >/dev/null
	echo "farm services: FUMEHOOD_TEST_POSTGRES=postgres://fumehood@/postgres?host=/var/cache/fumehood/postgres/run&port=5439," \
		"FUMEHOOD_TEST_S3=s3://fumehood?endpoint=http://127.0.0.1:9439 (credentials: /var/cache/fumehood/s3/credentials)" >&2
fi

if [ "$mode" = sample ]; then
	log "analysing the bundled harmless sample"
	set +e
	bin/fumehood analyze "$top/deploy/samples/hello-npm"
	code=$?
	set -e
	[ "$code" -le 2 ] || exit "$code"
	echo "setup done: verdict exit code $code (0 benign, 1 suspicious, 2 malicious)"
fi
