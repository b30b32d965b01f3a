// Package multihost proves a farm on several hosts: its one test,
// TestMultihost, run by `make multihost` with -multihost as root, starts
// a Redis, a PostgreSQL cluster and an S3 server of its own, one
// `fumehood serve` and two `fumehood worker` hosts, each worker in a
// network namespace of its own that reaches only the services' address,
// and a stand-in npm registry there (internal/npmtest). It submits uploads,
// registry specs, a lockfile batch and then a re-judge batch of harmless
// packages it makes, and meanwhile kills one worker host outright (kill -9
// of every process in its namespace, then the host comes back), restarts
// PostgreSQL once and Redis once. It passes when every analysis is done
// exactly once, every trace reads through the API, no task is left or
// archived, serve's /metrics shows each worker host's analyses as the
// worker's own /metrics counts them, and no container, snapshot, mount or
// namespace is left on any host; it prints `multihost: N/N done exactly once, 0 lost`.
//
// The hosts' network, all in names beginning "fhmh":
//
//	fhmh0 (dummy, host netns)        100.72.0.1/32: Redis, PostgreSQL, S3, registry
//	fhmh-X (veth, host netns)        100.72.I.1/30
//	eth0 in netns fhmh-X             100.72.I.2/30, one route: 100.72.0.1/32 via 100.72.I.1
//
// A worker enters its host with nsenter --net (not ip netns exec, whose
// private mount namespace would hide the worker's mounts from
// containerd); it shares the machine's containerd, by its unix socket.
// The sandbox's own network is unchanged inside a host: the sinkhole and
// sandbox namespaces are new namespaces wired only to each other, made
// from whichever namespace the worker runs in, so a worker host holds no
// route to them nor they to it. One run at a time holds the lock
// /run/fumehood-multihost.lock; a run removes what a killed run left
// (namespaces, links, processes in them) before it starts and on any
// exit, a signal included.
package multihost
