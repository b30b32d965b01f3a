package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/fumehood/fumehood/ecosystem/npm"
	"github.com/fumehood/fumehood/store"
)

// Errors of the upstream, for errors.Is.
var (
	errUpstreamNotFound = errors.New("not in the upstream registry")
	errIntegrity        = errors.New("bytes do not match the registry's integrity")
	errTooLarge         = errors.New("too large")
	errElsewhere        = errors.New("a tarball URL off the upstream")
)

// maxPackument bounds an upstream packument.
const maxPackument = 128 << 20

// upstream is the one registry the firewall fetches from, with a cache of
// packuments revalidated by ETag once older than ttl.
type upstream struct {
	base       string
	client     *http.Client
	ttl        time.Duration
	maxEntries int
	metrics    *Metrics

	mu    sync.Mutex
	cache map[string]*cached
	group singleflight.Group
}

type cached struct {
	doc     *packument
	etag    string
	fetched time.Time
}

// packument returns name's packument: from the cache while younger than
// ttl, else fetched (with If-None-Match of the cached ETag; a 304 keeps
// the cached document). Concurrent requests of one name share a fetch.
func (u *upstream) packument(ctx context.Context, name string) (*packument, error) {
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
		return nil, err
	}
	return v.(*packument), nil
}

func (u *upstream) fetch(ctx context.Context, name string, old *cached) (*packument, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.base+"/"+strings.Replace(name, "/", "%2f", 1), nil)
	if err != nil {
		return nil, err
	}
	// The full document: the abbreviated one does not date versions.
	req.Header.Set("Accept", mediaJSON)
	if old != nil && old.etag != "" {
		req.Header.Set("If-None-Match", old.etag)
	}
	resp, err := u.client.Do(req)
	if err != nil {
		u.metrics.upstream.WithLabelValues("packument", "error").Inc()
		return nil, fmt.Errorf("upstream packument of %s: %w", name, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && old != nil:
		u.metrics.upstream.WithLabelValues("packument", "not_modified").Inc()
		u.put(name, &cached{doc: old.doc, etag: old.etag, fetched: time.Now()})
		return old.doc, nil
	case resp.StatusCode == http.StatusNotFound:
		u.metrics.upstream.WithLabelValues("packument", "not_found").Inc()
		return nil, fmt.Errorf("package %s: %w", name, errUpstreamNotFound)
	case resp.StatusCode != http.StatusOK:
		u.metrics.upstream.WithLabelValues("packument", "error").Inc()
		return nil, fmt.Errorf("upstream packument of %s: %s", name, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPackument+1))
	if err != nil {
		return nil, fmt.Errorf("upstream packument of %s: %w", name, err)
	}
	if len(b) > maxPackument {
		return nil, fmt.Errorf("upstream packument of %s: over %d bytes: %w", name, maxPackument, errTooLarge)
	}
	doc, err := parsePackument(name, b)
	if err != nil {
		return nil, err
	}
	u.metrics.upstream.WithLabelValues("packument", "fetched").Inc()
	u.put(name, &cached{doc: doc, etag: resp.Header.Get("ETag"), fetched: time.Now()})
	return doc, nil
}

// cached returns name's cache entry, nil when there is none.
func (u *upstream) cached(name string) *cached {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.cache[name]
}

// put caches c, dropping the stalest entry when the cache is full.
func (u *upstream) put(name string, c *cached) {
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

// tarball downloads v's tarball, at most max bytes, checks it against
// the registry's integrity and puts it in blobs; it returns its digest.
// The tarball must be on the upstream's host: one upstream, whatever a
// packument says.
func (u *upstream) tarball(ctx context.Context, v *version, blobs store.Blobs, max int64) (_ string, retErr error) {
	base, err1 := url.Parse(u.base)
	tu, err2 := url.Parse(v.Tarball)
	if err1 != nil || err2 != nil || tu.Scheme != base.Scheme || tu.Host != base.Host {
		return "", fmt.Errorf("%s: %w: %s", v.File, errElsewhere, v.Tarball)
	}
	h, want, err := npm.Integrity(v.SRI, v.Shasum)
	if err != nil {
		return "", fmt.Errorf("%s: %w", v.File, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.Tarball, nil)
	if err != nil {
		return "", err
	}
	resp, err := u.client.Do(req)
	if err != nil {
		u.metrics.upstream.WithLabelValues("tarball", "error").Inc()
		return "", fmt.Errorf("upstream tarball %s: %w", v.File, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		u.metrics.upstream.WithLabelValues("tarball", "error").Inc()
		if resp.StatusCode == http.StatusNotFound {
			return "", fmt.Errorf("upstream tarball %s: %w", v.File, errUpstreamNotFound)
		}
		return "", fmt.Errorf("upstream tarball %s: %s", v.File, resp.Status)
	}
	f, err := os.CreateTemp("", "fumehood-proxy-*.tgz")
	if err != nil {
		return "", err
	}
	defer func() { f.Close(); os.Remove(f.Name()) }()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(resp.Body, max+1))
	if err != nil {
		return "", fmt.Errorf("upstream tarball %s: %w", v.File, err)
	}
	if n > max {
		return "", fmt.Errorf("upstream tarball %s: over %d bytes: %w", v.File, max, errTooLarge)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want) {
		u.metrics.upstream.WithLabelValues("tarball", "integrity").Inc()
		return "", fmt.Errorf("upstream tarball %s: %w (%s)", v.File, errIntegrity, v.Integrity)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	digest, err := blobs.Put(ctx, f)
	if err != nil {
		return "", fmt.Errorf("store tarball %s: %w", v.File, err)
	}
	u.metrics.upstream.WithLabelValues("tarball", "fetched").Inc()
	return digest, nil
}

// sha256Digest is the blob digest of b.
func sha256Digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}
