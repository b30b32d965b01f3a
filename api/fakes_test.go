package api

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/ecosystem"
	"github.com/fumehood/fumehood/store"
)

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
	return f.submit(ctx, s, "")
}

func (f *fakeScheduler) submit(ctx context.Context, s Submission, batch string) (*store.Record, bool, error) {
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
		k = store.Key{Ecosystem: s.Ecosystem, Name: "upload:" + s.FileName, Digest: d, Source: store.FromUpload}
		spec = "upload:" + s.FileName
	} else {
		t, err := ecosystem.Parse(s.Spec)
		if err != nil {
			return nil, false, err
		}
		k = store.Key{Ecosystem: t.Ecosystem, Name: t.Name, Version: t.Version}
	}
	k.Rules = f.rules
	r := &store.Record{
		Analysis: analysis.Analysis{ID: uuid.NewString(), Package: analysis.Package{Ecosystem: k.Ecosystem, Name: k.Name, Version: k.Version, Digest: k.Digest}, Rules: k.Rules},
		Status:   store.Queued, Spec: spec, Webhook: s.Webhook, BatchID: batch, Submitted: time.Now(), Updated: time.Now(),
		Source: k.Source, UploadedBy: s.UploadedBy,
	}
	if s.Force {
		return r, false, f.st.Create(ctx, r)
	}
	return f.st.FindOrCreate(ctx, k, r)
}

func (f *fakeScheduler) SubmitBatch(ctx context.Context, r BatchRequest) (*store.Batch, error) {
	b := &store.Batch{ID: uuid.NewString(), Created: time.Now(), Webhook: r.Webhook}
	var items []string
	switch {
	case r.Specs != nil:
		b.Kind = "specs"
		for _, sp := range r.Specs {
			rec, _, err := f.submit(ctx, Submission{Spec: sp, Force: r.Force}, b.ID)
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
