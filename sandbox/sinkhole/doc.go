// Package sinkhole owns the network every sandbox gets: a sandbox network
// namespace whose only interface leads to a sinkhole network namespace, and
// the servers in the sinkhole that answer and record whatever the sandboxed
// package sends. Nothing it creates touches the host network namespace.
//
// Layout, per sinkhole (Name n, StateDir d):
//
//	d/netns/n.sandbox   bind mount of the sandbox netns (containerd joins it by path)
//	d/netns/n.sink      bind mount of the sinkhole netns
//	d/sinkhole/n/       resolv.conf for the container and "owner" (pid and start
//	                    time of the process that runs the servers, for Reap)
//
// The namespaces are joined by a veth pair created inside the sinkhole
// netns with its peer placed straight into the sandbox netns: "eth0",
// 100.64.0.2/30 and fd53:696e:6b00::2/64 in the sandbox, with default routes
// (v4 and v6) to 100.64.0.1 and fd53:696e:6b00::1 on the sinkhole end. The
// host netns never holds an interface, address, route or rule of ours; the
// directory d/netns is made a shared mount (as ip-netns does) so that
// unmounting a namespace propagates to mount namespaces copied meanwhile.
//
// In the sinkhole netns an nftables table redirects every TCP port to one
// listener and UDP port 53 to the DNS server; other UDP goes to a discard
// socket so that clients keep sending. What was dialled is recovered as
// follows:
//   - TCP: SO_ORIGINAL_DST (IPv4) / IP6T_SO_ORIGINAL_DST (IPv6) on the
//     accepted socket. TCP to port 53 is served as DNS over TCP; otherwise
//     the first bytes decide: a TLS ClientHello records the SNI (KindTLS)
//     and, with a CA, is terminated with a leaf certificate for that name;
//     an HTTP request line is parsed (KindHTTP: method, Host, target, the
//     headers in order, the first 4 KiB of the body) and answered 200 OK,
//     keep-alive included (a connection idle for 5 s after an answer is
//     closed, as a web server does: a client that never reads its answer
//     would otherwise hold its process open); a WebSocket upgrade is
//     accepted (101) and the
//     client's frames are read and unmasked (a client masks each frame
//     with a key the frame carries), their payloads becoming the body of
//     the request's capture; anything else is recorded as KindTCP with its
//     first 4 KiB.
//   - UDP: NAT hides the original destination of a datagram from the
//     receiving socket, so UDP is recorded from a packet socket on the
//     sinkhole end of the veth, which sees every datagram as the package
//     sent it: to port 53 and parseable as DNS it is KindDNS (one event per
//     question), otherwise KindUDP with the datagram head.
//
// Everything is bounded: concurrent connections, a deadline per connection,
// requests per connection, and what is recorded, in budgets a flood cannot
// spend on behalf of the rest. The pipeline takes the captures after each
// phase (Take), and each phase has its own budget, 10,000 events and
// 16 MiB; within it each destination (a DNS query's zone, the host an HTTP
// request or TLS handshake names, else the protocol, address and port
// dialled: every name resolves to the sinkhole, so names tell destinations
// apart) records at most 1,000 events and 2 MiB whole. Past its own budget
// a destination still gets the first 512 bytes of each new flow (a TCP
// connection, or the datagrams of one UDP source port), up to 1,000 of
// them. So 14,000 datagrams to one place keep neither the token sent
// afterwards to another place nor a later conversation with the same place
// out of the capture. What does not fit, and the datagrams the kernel
// dropped because the capture socket's queue was full (PACKET_STATISTICS),
// is counted, and Take ends with a KindLost event (Name "sinkhole")
// carrying the count, so a flood makes the capture visibly incomplete
// instead of exhausting memory. A package that spreads a flood over more
// than 10,000 destinations still exhausts a phase's budget: what it sends
// afterwards then survives in the probes' copy (package bpf keeps the
// first 512 bytes of every TCP and UDP send), not here.
//
// This package imports trace only; it knows nothing of containers or
// packages.
package sinkhole
