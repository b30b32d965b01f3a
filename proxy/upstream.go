package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/fumehood/fumehood/store"
)

// Errors of the upstream, for errors.Is.
var (
	errUpstreamNotFound = errors.New("not in the upstream registry")
	errIntegrity        = errors.New("bytes do not match the registry's integrity")
	errTooLarge         = errors.New("too large")
	errElsewhere        = errors.New("a tarball URL off the upstream")
)

// maxPackument bounds an upstream document (packument, project page).
const maxPackument = 128 << 20

// upstream is the one registry the firewall fetches from, with a cache of
// its parsed documents (D: an npm packument, a PyPI project page)
// revalidated by ETag once older than ttl.
type upstream[D any] struct {
	base       *url.URL
	client     *http.Client
	ttl        time.Duration
	maxEntries int
	metrics    *Metrics
	eco        string
	accept     string
	docURL     func(name string) string
	parse      func(name string, body []byte, ctype string) (D, error)

	mu    sync.Mutex
	cache map[string]*cached[D]
	group singleflight.Group
}

type cached[D any] struct {
	doc     D
	etag    string
	fetched time.Time
}

// upstreamOf returns c's upstream: docURL is a document's URL, fetched
// with Accept accept and parsed by parse.
func upstreamOf[D any](c *core, accept string, docURL func(string) string, parse func(string, []byte, string) (D, error)) *upstream[D] {
	base, _ := url.Parse(c.cfg.Upstream) // checked by newCore
	return &upstream[D]{base: base, client: c.cfg.Client, ttl: c.cfg.PackumentTTL, maxEntries: 10000, metrics: c.metrics,
		eco: c.eco, accept: accept, docURL: docURL, parse: parse, cache: map[string]*cached[D]{}}
}

// document returns name's document: from the cache while younger than
// ttl, else fetched (with If-None-Match of the cached ETag; a 304 keeps
// the cached document). Concurrent requests of one name share a fetch.
func (u *upstream[D]) document(ctx context.Context, name string) (D, error) {
	c := u.cached(name)
	if c != nil && time.Since(c.fetched) < u.ttl {
		return c.doc, nil
	}
	v, err, _ := u.group.Do(name, func() (any, error) {
		// Detached: one client giving up must not fail the others.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		return u.fetch(ctx, name, c)
	})
	if err != nil {
		var zero D
		return zero, err
	}
	return v.(D), nil
}

func (u *upstream[D]) fetch(ctx context.Context, name string, old *cached[D]) (D, error) {
	var zero D
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.docURL(name), nil)
	if err != nil {
		return zero, err
	}
	req.Header.Set("Accept", u.accept)
	if old != nil && old.etag != "" {
		req.Header.Set("If-None-Match", old.etag)
	}
	count := u.metrics.upstream.WithLabelValues
	resp, err := u.client.Do(req)
	if err != nil {
		count(u.eco, "document", "error").Inc()
		return zero, fmt.Errorf("upstream document of %s: %w", name, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && old != nil:
		count(u.eco, "document", "not_modified").Inc()
		u.put(name, &cached[D]{doc: old.doc, etag: old.etag, fetched: time.Now()})
		return old.doc, nil
	case resp.StatusCode == http.StatusNotFound:
		count(u.eco, "document", "not_found").Inc()
		return zero, fmt.Errorf("package %s: %w", name, errUpstreamNotFound)
	case resp.StatusCode != http.StatusOK:
		count(u.eco, "document", "error").Inc()
		return zero, fmt.Errorf("upstream document of %s: %s", name, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPackument+1))
	if err != nil {
		return zero, fmt.Errorf("upstream document of %s: %w", name, err)
	}
	if len(b) > maxPackument {
		return zero, fmt.Errorf("upstream document of %s: over %d bytes: %w", name, maxPackument, errTooLarge)
	}
	doc, err := u.parse(name, b, resp.Header.Get("Content-Type"))
	if err != nil {
		return zero, err
	}
	count(u.eco, "document", "fetched").Inc()
	u.put(name, &cached[D]{doc: doc, etag: resp.Header.Get("ETag"), fetched: time.Now()})
	return doc, nil
}

// cached returns name's cache entry, nil when there is none.
func (u *upstream[D]) cached(name string) *cached[D] {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.cache[name]
}

// put caches c, dropping the stalest entry when the cache is full.
func (u *upstream[D]) put(name string, c *cached[D]) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.cache[name]; !ok && len(u.cache) >= u.maxEntries {
		var oldest string
		for n, e := range u.cache {
			if oldest == "" || e.fetched.Before(u.cache[oldest].fetched) {
				oldest = n
			}
		}
		delete(u.cache, oldest)
	}
	u.cache[name] = c
}

// onHost reports whether raw is a URL on the upstream's own scheme and
// host.
func (u *upstream[D]) onHost(raw string) bool {
	fu, err := url.Parse(raw)
	return err == nil && fu.Scheme == u.base.Scheme && fu.Host == u.base.Host
}

// fetchFile is a file to download from the upstream and the hash the
// registry gives for it.
type fetchFile struct {
	url, name string
	hash      hash.Hash // fresh, of the registry's algorithm
	want      []byte    // the registry's digest
	integrity string    // as the registry spells it, for messages
}

// ensure returns the recorded bytes t (ecosystem, name, version or file,
// integrity) stands for: seen when they are recorded and in the blob
// store, else f fetched, recorded if this is the first sight, and
// refused (errChanged) when they differ from an earlier sight.
func (c *core) ensure(ctx context.Context, seen *store.Tarball, f fetchFile, t store.Tarball) (store.Tarball, error) {
	if seen != nil {
		if rc, err := c.cfg.Blobs.Get(ctx, seen.Digest); err == nil {
			rc.Close()
			return *seen, nil
		}
	}
	digest, err := c.download(ctx, f)
	if err != nil {
		return store.Tarball{}, err
	}
	t.Digest = digest
	tb, err := c.cfg.Store.SeeTarball(ctx, t)
	if err != nil {
		return store.Tarball{}, err
	}
	c.decisions.drop(t.Name) // its decisions rest on the recorded bytes
	if tb.Digest != digest {
		return tb, fmt.Errorf("%s %s: %w (%s, now %s)", t.Name, t.Version, errChanged, tb.Digest, digest)
	}
	return tb, nil
}

// download fetches f, at most MaxTarball bytes, checks it against the
// registry's digest and puts it in the blob store; it returns its digest.
func (c *core) download(ctx context.Context, f fetchFile) (_ string, retErr error) {
	count := c.metrics.upstream.WithLabelValues
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.cfg.Client.Do(req)
	if err != nil {
		count(c.eco, "file", "error").Inc()
		return "", fmt.Errorf("upstream file %s: %w", f.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		count(c.eco, "file", "error").Inc()
		if resp.StatusCode == http.StatusNotFound {
			return "", fmt.Errorf("upstream file %s: %w", f.name, errUpstreamNotFound)
		}
		return "", fmt.Errorf("upstream file %s: %s", f.name, resp.Status)
	}
	tmp, err := os.CreateTemp("", "fumehood-proxy-*")
	if err != nil {
		return "", err
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	max := c.cfg.MaxTarball
	n, err := io.Copy(io.MultiWriter(tmp, f.hash), io.LimitReader(resp.Body, max+1))
	if err != nil {
		return "", fmt.Errorf("upstream file %s: %w", f.name, err)
	}
	if n > max {
		return "", fmt.Errorf("upstream file %s: over %d bytes: %w", f.name, max, errTooLarge)
	}
	if got := f.hash.Sum(nil); !bytes.Equal(got, f.want) {
		count(c.eco, "file", "integrity").Inc()
		return "", fmt.Errorf("upstream file %s: %w (%s)", f.name, errIntegrity, f.integrity)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	digest, err := c.cfg.Blobs.Put(ctx, tmp)
	if err != nil {
		return "", fmt.Errorf("store file %s: %w", f.name, err)
	}
	count(c.eco, "file", "fetched").Inc()
	return digest, nil
}

// sha256Digest is the blob digest of b.
func sha256Digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}
