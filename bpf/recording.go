package bpf

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/fumehood/fumehood/trace"
)

// Recording is the trace of one cgroup in one run slot.
type Recording struct {
	t      *Tracer
	slot   uint32
	cgroup uint64
	ring   *ebpf.Map
	rd     *ringbuf.Reader
	log    *slog.Logger
	done   chan struct{} // closed when the reader goroutine returns

	events  []trace.Event // written by the reader goroutine only
	budget  budget        // the reader goroutine's only
	dropped atomic.Uint64 // events dropped in userspace
	readErr error         // why the reader stopped, if not Stop

	stopped   atomic.Bool
	finalLost uint64 // Lost once stopped

	stopOnce sync.Once
	result   []trace.Event
	stopErr  error
}

// Watch starts recording the processes of one cgroup (v2 id, the inode
// number of its directory) into a fresh ring buffer in a free run slot.
// Call it after containerd created the task and before it starts it.
func (t *Tracer) Watch(cgroupID uint64) (_ *Recording, retErr error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	slot := slices.Index(t.slots, nil)
	if slot < 0 {
		return nil, ErrNoSlot
	}
	ring, err := ebpf.NewMap(t.ringSpec)
	if err != nil {
		return nil, fmt.Errorf("bpf: create ring buffer: %w", err)
	}
	r := &Recording{
		t:      t,
		slot:   uint32(slot),
		cgroup: cgroupID,
		ring:   ring,
		log:    t.opts.Logger.With("cgroup", cgroupID, "slot", slot),
		budget: newBudget(t.opts.MaxEvents, t.opts.MaxBytes),
		done:   make(chan struct{}),
	}
	defer func() {
		if retErr != nil {
			r.t.maps.Rings.Delete(r.slot)
			ring.Close()
		}
	}()
	if err := t.maps.Lost.Put(r.slot, make([]uint64, t.ncpu)); err != nil {
		return nil, fmt.Errorf("bpf: reset lost counter: %w", err)
	}
	if err := t.maps.Rings.Put(r.slot, ring); err != nil {
		return nil, fmt.Errorf("bpf: install ring buffer: %w", err)
	}
	if r.rd, err = ringbuf.NewReader(ring); err != nil {
		return nil, fmt.Errorf("bpf: ring buffer reader: %w", err)
	}
	if err := t.maps.Tracked.Update(cgroupID, r.slot, ebpf.UpdateNoExist); err != nil {
		r.rd.Close()
		if errors.Is(err, ebpf.ErrKeyExist) {
			return nil, fmt.Errorf("cgroup %d: %w", cgroupID, ErrWatched)
		}
		return nil, fmt.Errorf("bpf: track cgroup %d: %w", cgroupID, err)
	}
	t.slots[slot] = r
	go r.read(&decoder{bootWall: t.bootWall})
	return r, nil
}

// read decodes records until Stop flushes the reader.
func (r *Recording) read(d *decoder) {
	defer close(r.done)
	var rec ringbuf.Record
	for {
		err := r.rd.ReadInto(&rec)
		if errors.Is(err, ringbuf.ErrFlushed) || errors.Is(err, os.ErrClosed) {
			return
		}
		if err != nil {
			r.readErr = fmt.Errorf("bpf: read ring buffer: %w", err)
			return
		}
		var ev trace.Event
		if err := d.decode(rec.RawSample, &ev); err != nil {
			r.dropped.Add(1)
			r.log.Warn("bpf: record dropped", "err", err)
			continue
		}
		r.keep(ev)
	}
}

// flushWrites takes the write aggregates of this recording's cgroup that
// the probes have not emitted yet (files still open in processes still
// running) out of the kernel's map of writes, as write events. Call it
// once the cgroup is untracked, so that no probe adds to them.
func (r *Recording) flushWrites() ([]trace.Event, error) {
	d := decoder{bootWall: r.t.bootWall}
	var (
		k      probesWkey
		v      probesWagg
		keys   []probesWkey
		events []trace.Event
	)
	it := r.t.maps.Writes.Iterate()
	for it.Next(&k, &v) {
		if v.Cgroup != r.cgroup {
			continue
		}
		keys = append(keys, k)
		events = append(events, d.writeEvent(&v))
	}
	if err := it.Err(); err != nil {
		return events, fmt.Errorf("bpf: iterate writes: %w", err)
	}
	for _, k := range keys {
		if err := r.t.maps.Writes.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return events, fmt.Errorf("bpf: delete write aggregate: %w", err)
		}
	}
	return events, nil
}

// Lost returns the events lost so far in this recording: those the kernel
// could not write to the full ring buffer and those dropped in userspace.
func (r *Recording) Lost() uint64 {
	if r.stopped.Load() {
		return r.finalLost
	}
	var perCPU []uint64
	n := r.dropped.Load()
	if err := r.t.maps.Lost.Lookup(r.slot, &perCPU); err != nil {
		r.log.Warn("bpf: read lost counter", "err", err)
		return n
	}
	for _, c := range perCPU {
		n += c
	}
	return n
}

// Stop stops recording, drains what the kernel already wrote, unregisters
// the cgroup and frees the slot. The events are in kernel-time order, with
// Time as wall clock; if events were lost it appends events of
// trace.KindLost with their Count: one per kind the budget refused (Name
// is the kind), and one without a Name for what the kernel could not
// deliver and malformed records. Their counts add up to Lost. Seq and
// Phase are left zero. Calling it again returns the same result.
func (r *Recording) Stop() ([]trace.Event, error) {
	r.stopOnce.Do(func() { r.result, r.stopErr = r.stop() })
	return r.result, r.stopErr
}

func (r *Recording) stop() ([]trace.Event, error) {
	t := r.t
	var errs []error
	if err := t.maps.Tracked.Delete(r.cgroup); err != nil {
		errs = append(errs, fmt.Errorf("bpf: untrack cgroup %d: %w", r.cgroup, err))
	}
	// Deleting from the map of rings waits for an RCU grace period: once it
	// returns no probe is still writing to this ring.
	if err := t.maps.Rings.Delete(r.slot); err != nil {
		errs = append(errs, fmt.Errorf("bpf: remove ring buffer: %w", err))
	}
	if err := r.rd.Flush(); err != nil {
		errs = append(errs, fmt.Errorf("bpf: flush ring buffer: %w", err))
		r.rd.Close()
	}
	<-r.done
	if r.readErr != nil {
		errs = append(errs, r.readErr)
	}
	flushed, err := r.flushWrites()
	if err != nil {
		errs = append(errs, err)
	}
	for _, ev := range flushed {
		r.keep(ev)
	}
	lost := r.Lost()
	r.finalLost = lost
	r.stopped.Store(true)
	r.rd.Close()
	r.ring.Close()

	t.mu.Lock()
	t.slots[r.slot] = nil
	t.mu.Unlock()

	events := r.events
	r.events = nil
	slices.SortStableFunc(events, func(a, b trace.Event) int { return a.Time.Compare(b.Time) })
	if lost > 0 {
		at := time.Now()
		if len(events) > 0 {
			at = events[len(events)-1].Time
		}
		var byBudget uint64
		for _, c := range slices.SortedFunc(maps.Keys(r.budget.dropped), budgetClass.compare) {
			byBudget += r.budget.dropped[c]
			lost := trace.Event{Time: at, Kind: trace.KindLost, Name: string(c.kind), Count: r.budget.dropped[c], CgroupID: r.cgroup}
			if c.missing {
				lost.Ret = -trace.ENOENT
			}
			events = append(events, lost)
		}
		if n := lost - byBudget; n > 0 {
			events = append(events, trace.Event{Time: at, Kind: trace.KindLost, Count: n, CgroupID: r.cgroup})
		}
		r.log.Warn("bpf: events lost", "count", lost, "over_budget", byBudget)
	}
	return events, errors.Join(errs...)
}

// keep adds ev to the events when the budget admits it, else counts it
// as dropped.
func (r *Recording) keep(ev trace.Event) {
	if !r.budget.admit(&ev) {
		r.dropped.Add(1)
		return
	}
	r.events = append(r.events, ev)
}

// budget is what one recording may keep in memory: a number of events and
// of bytes (trace.Event.Size), and for each class of events half of the
// bytes, so a flood of one kind (opens, sends) cannot spend what the
// process table and the rest of the evidence need. Opens of files that do
// not exist are a class of their own with a quarter: a large native
// build's compiler looks every header up in a dozen include directories
// (two opens in three of re2's 320,000 fail so), and those lookups, which
// read nothing, must not crowd out the opens that did, nor, with them,
// the rest.
type budget struct {
	maxEvents, maxBytes int
	events, bytes       int
	byClass             map[budgetClass]int    // bytes kept per class
	dropped             map[budgetClass]uint64 // events refused per class
}

// budgetClass is a kind of event, and for opens whether the file was
// missing (trace.Event.Missing).
type budgetClass struct {
	kind    trace.Kind
	missing bool
}

func classOf(e *trace.Event) budgetClass {
	return budgetClass{kind: e.Kind, missing: e.Kind == trace.KindOpen && e.Missing()}
}

func (c budgetClass) compare(d budgetClass) int {
	if c.kind != d.kind {
		return strings.Compare(string(c.kind), string(d.kind))
	}
	switch {
	case c.missing == d.missing:
		return 0
	case c.missing:
		return 1
	}
	return -1
}

func newBudget(maxEvents, maxBytes int) budget {
	return budget{maxEvents: maxEvents, maxBytes: maxBytes, byClass: map[budgetClass]int{}, dropped: map[budgetClass]uint64{}}
}

// admit reports whether e fits and, if so, counts it as kept.
func (b *budget) admit(e *trace.Event) bool {
	n, c := e.Size(), classOf(e)
	share := b.maxBytes / 2
	if c.missing {
		share = b.maxBytes / 4
	}
	if b.events >= b.maxEvents || b.bytes+n > b.maxBytes || b.byClass[c]+n > share {
		b.dropped[c]++
		return false
	}
	b.events++
	b.bytes += n
	b.byClass[c] += n
	return true
}
