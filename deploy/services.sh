#!/usr/bin/env bash
# Starts and stops the private servers of a farm's store on this machine, as
# root: a PostgreSQL cluster and an S3-compatible object store (versitygw
# over a directory), each under DIR, on loopback ports of their own, never
# the machine's shared servers. deploy/setup.sh farm starts the ones the
# tests use; TestPostgresRestart starts one of its own.
#
#   deploy/services.sh postgres start DIR PORT [LISTEN [NETWORK]]
#                                                      prints a DSN (unix socket, no password)
#   deploy/services.sh postgres stop DIR
#   deploy/services.sh postgres restart DIR
#   deploy/services.sh s3 start DIR PORT [LISTEN]         prints the blob store address
#   deploy/services.sh s3 stop DIR
#
# LISTEN is the address to listen on (default 127.0.0.1); NETWORK, a CIDR,
# lets the hosts of that network in by password (a pg_hba.conf line; initdb
# lets in loopback only). PostgreSQL trusts
# local (unix socket) connections of any role: its socket directory,
# DIR/run, is open to root and the postgres user alone; TCP connections need
# the password in DIR/password (role fumehood). The S3 credentials are in
# DIR/credentials (AWS_ACCESS_KEY_ID=..., AWS_SECRET_ACCESS_KEY=...), which
# the blob store reads from the environment; the bucket is "fumehood".
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
log() { printf '==> %s\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || { echo "services.sh must run as root" >&2; exit 1; }

# versitygw is the S3 server: Go, served by the module proxy, and a plain
# directory behind it (a bucket is a directory).
versitygw_version=v1.8.0
cache=/var/cache/fumehood
versitygw=$cache/bin/versitygw-$versitygw_version

pgbin() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	[ -x "$d/pg_ctl" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
	echo "$d"
}

# secret prints 32 random hex digits.
secret() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

postgres_start() {
	local dir=$1 port=$2 listen=${3:-127.0.0.1} network=${4:-} bin hba
	bin=$(pgbin)
	mkdir -p "$dir/run"
	chown postgres: "$dir" "$dir/run"
	chmod 700 "$dir" "$dir/run"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		log "initdb $dir/data"
		[ -f "$dir/password" ] || (umask 077 && secret >"$dir/password")
		chown postgres: "$dir/password"
		runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U fumehood --pwfile="$dir/password" \
			--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
	fi
	hba="host all fumehood $network scram-sha-256"
	if [ -n "$network" ] && ! grep -qxF "$hba" "$dir/data/pg_hba.conf"; then
		echo "$hba" >>"$dir/data/pg_hba.conf"
		runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" reload >/dev/null 2>&1 || true # when running
	fi
	if ! runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		log "starting postgres on $listen:$port ($dir)"
		runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 120 \
			-o "-p $port -k $dir/run -c listen_addresses=$listen -c max_connections=200" start >/dev/null
	fi
	echo "postgres://fumehood@/postgres?host=$dir/run&port=$port"
}

postgres_ctl() {
	local dir=$1 action=$2
	[ -f "$dir/data/PG_VERSION" ] || return 0
	runuser -u postgres -- "$(pgbin)/pg_ctl" -D "$dir/data" -m fast -w -t 120 "$action" >/dev/null
}

s3_start() {
	local dir=$1 port=$2 listen=${3:-127.0.0.1}
	if [ ! -x "$versitygw" ]; then
		log "building versitygw $versitygw_version (once, cached in $cache/bin)"
		mkdir -p "$cache/bin"
		GOBIN="$cache/bin/tmp" go install "github.com/versity/versitygw/cmd/versitygw@$versitygw_version"
		mv "$cache/bin/tmp/versitygw" "$versitygw"
		rmdir "$cache/bin/tmp"
	fi
	mkdir -p "$dir/data/fumehood"
	chmod 700 "$dir"
	[ -f "$dir/credentials" ] || (umask 077 && printf 'AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n' "fh$(secret)" "$(secret)" >"$dir/credentials")
	if ! { [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; }; then
		log "starting versitygw on $listen:$port ($dir)"
		# shellcheck disable=SC1091
		(
			. "$dir/credentials"
			ROOT_ACCESS_KEY=$AWS_ACCESS_KEY_ID ROOT_SECRET_KEY=$AWS_SECRET_ACCESS_KEY \
				setsid "$versitygw" --port "$listen:$port" posix "$dir/data" >"$dir/versitygw.log" 2>&1 </dev/null &
			echo $! >"$dir/pid"
		)
		for _ in $(seq 1 100); do
			(exec 3<>"/dev/tcp/$listen/$port") 2>/dev/null && break
			sleep 0.1
		done
		(exec 3<>"/dev/tcp/$listen/$port") 2>/dev/null || { echo "versitygw did not start: see $dir/versitygw.log" >&2; exit 1; }
	fi
	echo "s3://fumehood?endpoint=http://$listen:$port"
}

s3_stop() {
	local dir=$1 pid
	[ -f "$dir/pid" ] || return 0
	pid=$(cat "$dir/pid")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$dir/pid"
}

case "${1:-}-${2:-}" in
postgres-start) postgres_start "${@:3}" ;;
postgres-stop) postgres_ctl "$3" stop ;;
postgres-restart) postgres_ctl "$3" restart ;;
s3-start) s3_start "${@:3}" ;;
s3-stop) s3_stop "$3" ;;
*)
	sed -n '2,22p' "$0" >&2
	exit 2
	;;
esac
