package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/store"
)

// memStore is an in-memory store.Store for the API tests (the SQLite store
// is tested in store/). Its List cursors are "c<offset>.<check>", so that
// tampering is detectable like the real store's.
type memStore struct {
	mu      sync.Mutex
	recs    []*store.Record
	byID    map[string]*store.Record
	batches map[string]*store.Batch
	items   map[string][]string
	tokens  map[string]store.Role
}

func newMemStore() *memStore {
	return &memStore{byID: map[string]*store.Record{}, batches: map[string]*store.Batch{}, items: map[string][]string{}, tokens: map[string]store.Role{}}
}

func (m *memStore) find(id string) *store.Record {
	return m.byID[id]
}

func (m *memStore) Create(_ context.Context, r *store.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.find(r.ID) != nil {
		return store.ErrExists
	}
	c := *r
	m.recs = append(m.recs, &c)
	m.byID[r.ID] = &c
	return nil
}

func (m *memStore) Find(_ context.Context, k store.Key) (*store.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.recs) - 1; i >= 0; i-- {
		r := m.recs[i]
		p := r.Package
		if p.Ecosystem == k.Ecosystem && p.Name == k.Name && p.Version == k.Version && p.Digest == k.Digest && r.Rules == k.Rules && r.Status != store.Failed {
			c := *r
			return &c, nil
		}
	}
	return nil, store.ErrNotFound
}

func (m *memStore) Get(_ context.Context, id string) (*store.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.find(id); r != nil {
		c := *r
		return &c, nil
	}
	return nil, fmt.Errorf("analysis %s: %w", id, store.ErrNotFound)
}

func (m *memStore) Start(_ context.Context, id string) error { return nil }

func (m *memStore) Complete(_ context.Context, a *analysis.Analysis, digest string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.find(a.ID)
	if r == nil {
		return store.ErrNotFound
	}
	r.Analysis, r.TraceDigest, r.Status = *a, digest, store.Done
	return nil
}

func (m *memStore) Fail(_ context.Context, id, reason string) error { return nil }

func (m *memStore) Rejudge(context.Context, string, analysis.Verdict, int, []analysis.Hit, string) error {
	return nil
}

func cursorCheck(off int) string {
	h := sha256.Sum256([]byte("mem" + strconv.Itoa(off)))
	return hex.EncodeToString(h[:4])
}

func (m *memStore) List(_ context.Context, q store.Query) ([]*store.Record, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	off := 0
	if q.Cursor != "" {
		n, check, ok := strings.Cut(strings.TrimPrefix(q.Cursor, "c"), ".")
		var err error
		off, err = strconv.Atoi(n)
		if !ok || err != nil || check != cursorCheck(off) {
			return nil, "", store.ErrCursor
		}
	}
	var match []*store.Record
	for i := len(m.recs) - 1; i >= 0; i-- {
		r := m.recs[i]
		ok := (q.Ecosystem == "" || r.Package.Ecosystem == q.Ecosystem) && (q.Name == "" || r.Package.Name == q.Name) &&
			(q.Verdict == "" || r.Verdict == q.Verdict) && (q.Status == "" || r.Status == q.Status) &&
			(q.Since.IsZero() || !r.Submitted.Before(q.Since)) &&
			(q.Rule == "" || slices.ContainsFunc(r.Hits, func(h analysis.Hit) bool { return h.Rule == q.Rule }))
		if ok {
			c := *r
			match = append(match, &c)
		}
	}
	limit := q.Limit
	if limit == 0 {
		limit = 50
	}
	if off > len(match) {
		off = len(match)
	}
	page := match[off:min(off+limit, len(match))]
	next := ""
	if off+limit < len(match) {
		next = "c" + strconv.Itoa(off+limit) + "." + cursorCheck(off+limit)
	}
	return page, next, nil
}

func (m *memStore) Versions(_ context.Context, eco, name string) ([]*store.Record, error) {
	recs, _, err := m.List(context.Background(), store.Query{Ecosystem: eco, Name: name, Limit: 1000})
	return recs, err
}

func (m *memStore) CreateBatch(_ context.Context, b *store.Batch, items []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *b
	m.batches[b.ID], m.items[b.ID] = &c, items
	return nil
}

func (m *memStore) GetBatch(_ context.Context, id string) (*store.Batch, store.Progress, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.batches[id]
	if !ok {
		return nil, store.Progress{}, fmt.Errorf("batch %s: %w", id, store.ErrNotFound)
	}
	p := store.Progress{Total: len(m.items[id]), Verdicts: map[analysis.Verdict]int{}}
	if b.Cancelled {
		p.Cancelled = p.Total
	} else {
		p.Pending = p.Total
	}
	c := *b
	return &c, p, nil
}

func (m *memStore) CancelBatch(_ context.Context, id string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.batches[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	b.Cancelled = true
	return m.items[id], nil
}

func (m *memStore) CreateToken(_ context.Context, hash []byte, role store.Role, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[string(hash)] = role
	return nil
}

func (m *memStore) TokenRole(_ context.Context, hash []byte) (store.Role, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.tokens[string(hash)]
	if !ok {
		return "", store.ErrNotFound
	}
	return r, nil
}

func (m *memStore) Close() error { return nil }

type memBlobs struct {
	mu sync.Mutex
	b  map[string][]byte
}

func (m *memBlobs) Put(_ context.Context, r io.Reader) (string, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	d := "sha256:" + hex.EncodeToString(h[:])
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.b == nil {
		m.b = map[string][]byte{}
	}
	m.b[d] = b
	return d, nil
}

func (m *memBlobs) Get(_ context.Context, d string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.b[d]
	if !ok {
		return nil, store.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// fakeScheduler submits into the store like the real one (validate,
// dedupe on the key, create) but enqueues nothing.
type fakeScheduler struct {
	st     store.Store
	blobs  store.Blobs
	rules  string
	mu     sync.Mutex
	got    []Submission
	cancel []string
	dead   []DeadTask
	depths map[string]int
	err    error // returned by QueueDepths
}

func (f *fakeScheduler) Submit(ctx context.Context, s Submission) (*store.Record, bool, error) {
	f.mu.Lock()
	f.got = append(f.got, s)
	f.mu.Unlock()
	var k store.Key
	spec := s.Spec
	if s.Upload != nil {
		d, err := f.blobs.Put(ctx, s.Upload)
		if err != nil {
			return nil, false, err
		}
		k = store.Key{Ecosystem: s.Ecosystem, Name: "upload:" + s.FileName, Digest: d}
		spec = "upload:" + s.FileName
	} else {
		t, err := ecosystem.Parse(s.Spec)
		if err != nil {
			return nil, false, err
		}
		k = store.Key{Ecosystem: t.Ecosystem, Name: t.Name, Version: t.Version}
	}
	k.Rules = f.rules
	if !s.Force {
		if r, err := f.st.Find(ctx, k); err == nil {
			return r, true, nil
		}
	}
	r := &store.Record{
		Analysis: analysis.Analysis{ID: uuid.NewString(), Package: analysis.Package{Ecosystem: k.Ecosystem, Name: k.Name, Version: k.Version, Digest: k.Digest}, Rules: k.Rules},
		Status:   store.Queued, Spec: spec, Webhook: s.Webhook, Submitted: time.Now(), Updated: time.Now(),
	}
	return r, false, f.st.Create(ctx, r)
}

func (f *fakeScheduler) SubmitBatch(ctx context.Context, r BatchRequest) (*store.Batch, error) {
	b := &store.Batch{ID: uuid.NewString(), Created: time.Now(), Webhook: r.Webhook}
	var items []string
	switch {
	case r.Specs != nil:
		b.Kind = "specs"
		for _, sp := range r.Specs {
			rec, _, err := f.Submit(ctx, Submission{Spec: sp, Force: r.Force})
			if err != nil {
				return nil, err
			}
			items = append(items, rec.ID)
		}
	case r.Lockfile != nil:
		b.Kind, b.Source = "lockfile", r.LockfileName
		if !bytes.HasPrefix(r.Lockfile, []byte("{")) {
			return nil, fmt.Errorf("lockfile %s: not JSON: %w", r.LockfileName, ErrInvalid)
		}
	case r.Rejudge != nil:
		b.Kind = "rejudge"
	case r.Rerun != nil:
		b.Kind = "rerun"
	}
	return b, f.st.CreateBatch(ctx, b, items)
}

func (f *fakeScheduler) CancelBatch(ctx context.Context, id string) error {
	f.mu.Lock()
	f.cancel = append(f.cancel, id)
	f.mu.Unlock()
	_, err := f.st.CancelBatch(ctx, id)
	return err
}

func (f *fakeScheduler) Archived(context.Context) ([]DeadTask, error) { return f.dead, nil }

func (f *fakeScheduler) QueueDepths(context.Context) (map[string]int, error) {
	return f.depths, f.err
}
