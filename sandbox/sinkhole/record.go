package sinkhole

import (
	"sync"
	"time"

	"github.com/fumehood/fumehood/trace"
)

// Default bounds of one sinkhole's capture.
const (
	defaultMaxEvents = 10000
	defaultMaxBytes  = 16 << 20
	headMax          = 4 << 10 // bytes of a body or payload kept in an event
	eventOverhead    = 128     // bytes counted per event besides its strings
)

// recorder keeps the events of one sinkhole in arrival order, up to a
// number and a byte budget; what does not fit is counted as dropped.
type recorder struct {
	maxEvents int
	maxBytes  int
	now       func() time.Time

	mu      sync.Mutex
	events  []trace.Event
	bytes   int
	dropped uint64
}

func newRecorder(maxEvents, maxBytes int) *recorder {
	return &recorder{maxEvents: maxEvents, maxBytes: maxBytes, now: time.Now}
}

func size(e *trace.Event) int {
	n := eventOverhead + len(e.Data) + len(e.Name) + len(e.URI) + len(e.Method) + len(e.Addr) + len(e.QType)
	for _, h := range e.Headers {
		n += len(h)
	}
	return n
}

// add records e, stamping its time if unset.
func (r *recorder) add(e trace.Event) {
	if e.Time.IsZero() {
		e.Time = r.now()
	}
	n := size(&e)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) >= r.maxEvents || r.bytes+n > r.maxBytes {
		r.dropped++
		return
	}
	r.bytes += n
	r.events = append(r.events, e)
}

// drop counts something that could not be recorded (a refused connection).
func (r *recorder) drop() {
	r.mu.Lock()
	r.dropped++
	r.mu.Unlock()
}

// snapshot returns a copy of the events, followed by a KindLost event
// named "sinkhole" if anything was dropped.
func (r *recorder) snapshot() []trace.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]trace.Event, len(r.events), len(r.events)+1)
	copy(out, r.events)
	if r.dropped > 0 {
		out = append(out, trace.Event{Time: r.now(), Kind: trace.KindLost, Name: "sinkhole", Count: r.dropped})
	}
	return out
}
