// Package api is fumehood's HTTP API (JSON, versioned under /v1, net/http
// with Go 1.22 patterns): submit a package by spec or upload, read an
// analysis, search analyses, page through a trace, read a package's
// history, create, follow and cancel batches, list the rules and the dead
// tasks; plus /healthz and /metrics (Prometheus).
//
// The same listener serves the analyst pages (pages.go, rendered by
// package api/ui): /analyses, /analyses/{id}, /analyses/{id}/trace,
// /packages/{eco}/{name}, /batches/{id}, /signin. Each page runs the query
// of its JSON endpoint (model.go) and renders the answer, so that a page
// never shows what the API would not.
//
// It talks to the store (store.Store, store.Blobs) and to a Scheduler it
// declares itself (the consumer-side interface of what it calls); it never
// touches the sandbox or the probes. cmd/fumehood wires the real ones.
//
// # Auth
//
// Every /v1 call needs "Authorization: Bearer TOKEN". Tokens are random
// (NewToken) and only their sha256 is stored (store.CreateToken,
// store.TokenRole): the lookup is by hash, so no comparison ever runs on
// the secret. Roles are ordered read < submit < admin:
//
//	read    GET analyses, traces, packages, batches, rules; GET /v1/policy, /v1/audit
//	submit  POST /v1/analyses, POST /v1/batches (specs, lockfile), DELETE /v1/batches/{id}
//	admin   POST /v1/batches with "rejudge" or "rerun", GET /v1/tasks/archived,
//	        POST /v1/policy, DELETE /v1/policy/{id}
//
// The uploader of an upload is the token's name (store.Record.UploadedBy),
// as is who set a registry firewall override.
//
// # Registry firewall
//
// With Config.Firewall (package proxy's Admin), POST /v1/policy takes
// {"ecosystem" (npm, the default, or pypi), "name", "versions" (a
// version or, for npm, a semver range; none: every version), "action"
// (allow or deny), "reason"} and
// answers 201 with the stored override; GET /v1/policy?name= lists them,
// DELETE /v1/policy/{id} removes one; GET /v1/audit?name=&state=&since=&limit=
// pages back through the firewall's decisions. The page /firewall shows
// both to an analyst (read role), with the audit's filters; overrides are
// set through the API only, so the pages stay free of forms that change
// state (sign-in and sign-out aside).
//
// A missing or unknown token is 401, a role too low 403. Neither the token
// nor the Authorization header is ever logged.
//
// Pages take the bearer token too, or a browser session (session.go): a
// cookie naming the token by its hash, with an expiry, HMAC-signed with a
// key of the store (store.Store.Secret), so that every serve process of
// the farm accepts it after a restart; each request checks the token
// again, so revoking it ends its sessions. Pages without either redirect
// to /signin.
//
// # Errors and limits
//
// Every error is {"error": {"code": CODE, "message": TEXT}} with a 4xx
// code for the caller's mistakes (bad_request, unauthorized, forbidden,
// not_found, method_not_allowed, too_large) and 5xx for ours (internal,
// unavailable); pages answer the same classes as HTML. JSON bodies reject unknown fields and are limited to
// Config.MaxBody bytes, uploads to Config.MaxUpload; query strings reject
// unknown parameters. Cursors are opaque: List cursors are the store's
// (tampering is store.ErrCursor), trace cursors are HMAC-signed here over
// the analysis, the filter and the position, so a cursor from another
// query or edited by hand is 400. Both keys are the store's, so cursors
// hold across restarts and between serve processes.
//
// # Logs
//
// Every request is logged at info with its method, path, status, duration
// and a request id, which the answer carries in X-Request-Id.
//
// # Metrics
//
// Metrics holds the Prometheus collectors: queue depth per queue (asked
// of the Scheduler at scrape time), analyses by verdict, phase durations,
// events and lost events, sandbox failures. A process that runs analyses
// feeds them through Metrics.Analysis and Metrics.SandboxFailure; each
// process exposes its own. A worker process also publishes them
// (Metrics.Exposition, through the scheduler's Redis), and serve adds what
// every worker published as fumehood_farm_*{worker} with the tasks each
// runs now (Metrics.AddFarm), so one scrape of serve sees the whole farm.
package api
