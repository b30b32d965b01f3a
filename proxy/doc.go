// Package proxy is fumehood's registry firewall: it serves the npm
// registry protocol on a listener of its own, in front of one upstream
// registry, and lets through only versions the farm admitted. It asks the
// scheduler to analyse and the store what was judged; it never runs a
// package.
//
// # Policy (Policy.Decide)
//
// Each version of a package is, in this order:
//
//   - blocked when the upstream's bytes changed after the firewall first
//     saw them (its dist.integrity differs from the one recorded then, or
//     fetched bytes differ from the recorded digest, or do not match the
//     packument's own dist.integrity);
//   - what the newest admin override covering it says (allow or deny, by
//     name, version or semver range; store.Override);
//   - blocked when judged malicious (and, with Policy.BlockSuspicious,
//     suspicious): the verdict of the current rules on its bytes, else
//     the newest verdict on them;
//   - admitted when analysed benign under the current rules with some of
//     its code run (a benign verdict with coverage "none" is no evidence);
//   - admitted when published longer ago than the quarantine window;
//   - held otherwise: younger than the window and not yet analysed benign.
//
// Admission rests on registry records only (store.FromRegistry): an
// upload never admits a version, whatever it claims.
//
// # Protocol
//
// GET and HEAD of /NAME, /@SCOPE/NAME and /@SCOPE%2fNAME answer the
// packument, full or abbreviated (Accept: application/vnd.npm.install-v1+json)
// as npm asks, listing only admitted versions; dist-tags point at admitted
// versions (latest, when its version is not admitted, at the highest
// admitted release); dist.tarball URLs point at the firewall (PublicURL,
// else the request's Host). The abbreviated form is made from the full
// upstream document, which alone dates each version. Requesting a
// packument queues, at interactive priority, the analysis of every held
// version that has none under the current rules: the firewall fetches the
// bytes (checked against dist.integrity), records their digest the first
// time (store.Firewall.SeeTarball), puts them in the blob store and hands
// that digest to the scheduler (scheduler.Submission.Fetched), so that
// the analysis is of the very bytes the firewall serves, never a
// download from another registry. A failed analysis is not queued again;
// the version waits for the window.
//
// GET of /NAME/-/FILE.tgz serves an admitted version's bytes from the
// blob store (fetched once, from the upstream's own host whatever URL a
// packument names; ETag is their digest). A blocked version is
// 403 with an npm-style JSON error ({"error": ...} plus state, reason,
// verdict, rules and the analysis URL); a held one 403 with its state
// and decided_by, the end of its window; with HoldWait the request first
// waits that long for the verdict. PUT (publish), search and audit
// endpoints are not served. /-/ping answers {}; /-/fumehood/metrics the
// Prometheus series (tarball requests and packument versions by state,
// verdict latency of the analyses the firewall queued, upstream requests
// by result, audit entries lost).
//
// # Caching
//
// Upstream packuments are kept in memory and served for PackumentTTL,
// then revalidated with If-None-Match (a 304 costs the upstream no body);
// concurrent requests of one name share one fetch. Packuments served to
// clients carry an ETag over the upstream document and the admitted set
// (If-None-Match answers 304), and their renderings are kept by that ETag.
// Tarballs are in the blob store by digest: a team's repeated installs
// fetch each tarball from the upstream once.
//
// # Audit and auth
//
// Every packument and tarball request is audited (store.Firewall
// AppendAudit): who (the client address, or the token's name when reads
// need a token), what, the state and why, and the analysis it rests on;
// entries are written in batches off the request path, and a full queue
// drops and counts. Reads are anonymous unless Config.Authenticate is set,
// then every request needs a bearer token (npm's _authToken).
//
// # Monitoring (Server.Monitor)
//
// The firewall can follow the registry's replication changes feed (a
// CouchDB _changes feed): each changed package the policy selects
// (FollowAll, FollowWatch a watch list, FollowUsed the packages with a
// tarball the firewall served) has its packument fetched afresh and the
// analysis of every held version queued at feed priority, exactly as an
// install would, from the firewall's bytes. The feed's sequence is kept
// in the store (store.Firewall.SetFeedSeq) after each batch is queued:
// a restart resumes with no gap, and may queue a batch twice, which is
// idempotent. A feed never followed starts at its end ("now"). The lag
// from publication to verdict of what the monitor queued is observed
// (fumehood_proxy_publication_to_verdict_seconds) when the firewall next
// looks at the package; the monitor looks again at packages with
// analyses outstanding after every poll.
//
// proxy imports scheduler (the submission type), store, analysis and
// ecosystem; it never touches the sandbox, the probes or the worker.
package proxy
