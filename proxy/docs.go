package proxy

import (
	"context"
	"fmt"
	"net/http"

	"github.com/fumehood/fumehood/scheduler"
	"github.com/fumehood/fumehood/store"
)

// docs is what one ecosystem's firewall does with its upstream's
// documents (D: a packument, a project page): decide their versions,
// list the admitted ones, queue the analysis of the held ones.
type docs[D any] struct {
	c  *core
	up *upstream[D]
	// decide decides a document's versions (fresh: not from the
	// decision cache; core.decide).
	decide func(ctx context.Context, doc D, fresh bool) (map[string]Decision, map[string]*store.Tarball, error)
	// versions are a document's versions in a stable order.
	versions func(D) []string
	// queue fetches a held version's bytes and queues their analysis on
	// queue q, in the background.
	queue func(doc D, version, q string)
}

// list fetches name's document and returns it and its admitted versions
// (see core.listing; kind names the request in the audit log). On an
// error it has answered the client and returns false.
func (d docs[D]) list(w http.ResponseWriter, r *http.Request, who, name, kind string) (D, []string, bool) {
	ctx := r.Context()
	p, err := d.up.document(ctx, name)
	if err != nil {
		d.c.upstreamError(w, r, err)
		return p, nil, false
	}
	ds, _, err := d.decide(ctx, p, false)
	if err != nil {
		d.c.internal(w, r, err)
		return p, nil, false
	}
	return p, d.c.listing(who, name, kind, d.versions(p), ds, func(v string) { d.queue(p, v, scheduler.QueueInteractive) }), true
}

// serveFile serves file of name's document: resolve finds its download
// in the document (false: the document lists no such file).
func (d docs[D]) serveFile(w http.ResponseWriter, r *http.Request, who, name, file string, resolve func(doc D, file string) (download, bool)) {
	p, err := d.up.document(r.Context(), name)
	if err != nil {
		d.c.upstreamError(w, r, err)
		return
	}
	dl, ok := resolve(p, file)
	if !ok {
		jsonError(w, http.StatusNotFound, fmt.Sprintf("%s has no file %s", name, clip(file)))
		return
	}
	d.c.serveDownload(w, r, who, dl)
}

// refresh fetches name's document afresh and queues the analysis of its
// held versions on the feed queue.
func (d docs[D]) refresh(ctx context.Context, name string) {
	p, err := d.up.fetch(ctx, name, d.up.cached(name))
	if err != nil {
		d.c.log.WarnContext(ctx, "monitor: document", "name", name, "err", err)
		return
	}
	ds, _, err := d.decide(ctx, p, false)
	if err != nil {
		d.c.log.WarnContext(ctx, "monitor: decide", "name", name, "err", err)
		return
	}
	for v, dec := range ds {
		if dec.Queue {
			d.queue(p, v, scheduler.QueueFeed)
		}
	}
}

// sweep decides name's cached document again from the store (observing
// verdicts).
func (d docs[D]) sweep(ctx context.Context, name string) {
	if p := d.up.cached(name); p != nil {
		if _, _, err := d.decide(ctx, p.doc, true); err != nil {
			d.c.log.WarnContext(ctx, "monitor: sweep", "name", name, "err", err)
		}
	}
}
