// Package proxy is fumehood's registry firewall: it serves the npm
// registry protocol (Server) or a PyPI simple index (PyPIServer) on a
// listener of its own, in front of one upstream registry, and lets
// through only versions the farm admitted. It asks the scheduler to
// analyse and the store what was judged; it never runs a package. Both
// servers share one core: the policy over the store's facts, the
// queueing and waiting, the audit log, the metrics, the read tokens, the
// upstream's document cache and the file downloads.
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
// by result, audit entries lost; each by ecosystem).
//
// # PyPI (PyPIServer)
//
// NewPyPI serves a PEP 503/691 simple index in front of one upstream
// index (Config.Upstream, the URL project pages hang off), so that
// `pip install --index-url http://ADDR/simple/` (or PIP_INDEX_URL, uv's
// and poetry's index settings) is all a team changes. GET and HEAD of
// /simple/NAME/ answer the project page as PEP 691 JSON
// (application/vnd.pypi.simple.v1+json) or PEP 503 HTML by the Accept
// header's qualities (JSON on a tie, HTML when neither is named); a name
// not PEP 503 normalized, or without its trailing slash, is redirected
// (301). The page lists only the files of admitted versions, with the
// index's sha256 (the #sha256= fragment, the "hashes" object),
// requires-python and yanked as the index gives them, at the firewall's
// URLs (/files/NAME/FILE). Files are grouped into versions by their
// names (wheels per PEP 427, sdists NAME-VERSION.tar.gz; other files
// are not served). A version's publication is the earliest upload-time
// of its files (PEP 700, JSON pages only: an HTML-only index dates
// nothing, so its versions are held until analysed benign or
// overridden).
//
// The policy is decided per version, on the analysis of the one file pip
// in the sandbox installs (pypi.Pick: the best wheel for the sandbox's
// CPython on Linux, else the sdist); a version without such a file (only
// wheels for other platforms) cannot be analysed and waits for the
// window. Every file's digest is recorded at first sight, under its file
// name (store.Tarball.Version holds the name: a version has many files,
// and an index never reuses a file name), fetched from the URL the index
// gives (which may be another host: the index names its file host) and
// checked against the index's sha256; an index that gives none has its
// files refused. A file whose bytes, or whose index hash, later differ
// from that record is blocked (the analysed one blocks its version).
// Requesting a project page queues, at interactive priority, the
// analysis of each held version's analysed file, from the firewall's
// bytes (scheduler.Submission.Fetched; the worker names a wheel from its
// .dist-info, ecosystem.NameArtifact). GET of /files/NAME/FILE serves an
// admitted version's file from the blob store and refuses a held or
// blocked one with 403 and the same JSON as npm's refusals (pip shows
// the status; the body names the verdict, rules and analysis). The farm
// must have a PyPI index (FUMEHOOD_PYPI_INDEX): its workers resolve the
// dependencies of what they analyse from it. /-/fumehood/metrics serves
// the Prometheus series as on npm's listener. Overrides name PyPI
// projects by any spelling (stored normalized) and versions exactly
// (PEP 440 equality).
//
// # Caching
//
// Upstream packuments and project pages are kept in memory and served
// for PackumentTTL,
// then revalidated with If-None-Match (a 304 costs the upstream no body);
// concurrent requests of one name share one fetch. Packuments served to
// clients carry an ETag over the upstream document and the admitted set
// (If-None-Match answers 304), and their renderings are kept by that ETag.
// Tarballs and distribution files are in the blob store by digest: a
// team's repeated installs fetch each file from the upstream once.
//
// Each package's decisions are cached as well (the decision cache), so
// that a warm packument or project page reads nothing from the store and
// decodes no record. An entry stands while it is younger than
// DecisionTTL (default 2 s), while the upstream document it was made
// from is the one cached (a changed document is decided anew), while no
// admin changed an override since (Admin bumps Config.Changes, shared by
// the firewalls of its process, which then decide everything anew), and
// no later than the end of the window of any held version in it (a held
// version is admitted the moment its window ends). The firewall's own
// writes drop the package's entry at once: a file's digest recorded, an
// analysis queued. What another process writes to the store (a worker's
// verdict, a re-judge, an override set through another process's API, a
// digest recorded by another firewall on the same store) shows within
// DecisionTTL: that bound is the design, rather than a store-side change
// counter, which would put a store read back on every request (or a
// poller in every firewall) and a counter write on every analysis
// update, for a staleness of a packument listing that is already
// bounded. Downloads never use the cache: a file request is decided on
// the store's facts of the moment, so a stored verdict is enforced on
// bytes at once, and only a listing may lag it, by DecisionTTL at most.
//
// # Audit and auth
//
// Every packument and tarball request is audited (store.Firewall
// AppendAudit): who (the client address, or the token's name when reads
// need a token), what, the state and why, and the analysis it rests on;
// entries are written in batches off the request path, and a full queue
// drops and counts. Reads are anonymous unless Config.Authenticate is set,
// then every request needs a bearer token (npm's _authToken) or, as pip
// sends an index URL's credentials, basic credentials whose password is
// the token.
//
// # Monitoring (Server.Monitor, PyPIServer.Monitor)
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
// For PyPI the monitor follows the index's changelog over XML-RPC
// (changelog_since_serial, the method mirrors replicate by;
// MonitorConfig.Changes is the XML-RPC endpoint): its serial is the one
// position an index offers to resume from with no gap, where its RSS
// feeds list only the newest few dozen uploads. A changelog never
// followed starts at changelog_last_serial; the serial is kept in the
// store ("pypi-changelog") after each batch; removals are skipped; the
// same filters (all, watch, used) apply, by normalized name.
//
// proxy imports scheduler (the submission type), store, analysis and
// ecosystem; it never touches the sandbox, the probes or the worker.
package proxy
