package sinkhole

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fumehood/fumehood/trace"
)

// Bounds of one phase's capture, and of each destination within it.
const (
	phaseEvents   = 10000
	phaseBytes    = 16 << 20
	destEvents    = 1000    // events recorded whole per destination
	destBytes     = 2 << 20 // bytes recorded whole per destination
	destFlowHeads = 1000    // flow heads kept per destination past its budget
	flowHead      = 512     // bytes of payload kept of such a flow's first event
	headMax       = 4 << 10 // bytes of a body or payload kept in an event
)

// limits is a budget in events and bytes.
type limits struct{ events, bytes int }

// flow is one conversation the package started: a TCP connection, or the
// datagrams one UDP socket sent to one destination. src tells flows to one
// destination apart; the zero src is a flow of its own.
type flow struct{ src, dst netip.AddrPort }

// destination is what one destination has used of a phase's budget.
type destination struct {
	events, bytes int
	heads         int                         // flow heads kept past the budget
	flows         map[netip.AddrPort]struct{} // sources with an event kept
}

// recorder keeps the events of one phase in arrival order within budgets
// that a flood cannot spend on behalf of the rest: the phase's (events and
// bytes) and each destination's. Past its own budget a destination still
// gets the first flowHead bytes of each new flow, so a flood keeps neither
// another destination's captures nor a later conversation's first bytes
// out of the trace. What does not fit is counted as dropped. take ends
// the phase and starts fresh budgets.
type recorder struct {
	phase, dest limits
	now         func() time.Time

	mu      sync.Mutex
	events  []trace.Event
	bytes   int
	dests   map[string]*destination
	dropped uint64
}

func newRecorder(phase, dest limits) *recorder {
	return &recorder{phase: phase, dest: dest, now: time.Now, dests: map[string]*destination{}}
}

func defaultRecorder() *recorder {
	return newRecorder(limits{phaseEvents, phaseBytes}, limits{destEvents, destBytes})
}

// destKey names the destination whose budget e spends: a DNS query's zone
// (its last two labels), the host an HTTP request or TLS handshake named,
// else the protocol and the address and port dialled. Every name resolves
// to the sinkhole, so a name tells destinations apart better than the
// address does.
func destKey(e *trace.Event) string {
	switch {
	case e.Kind == trace.KindDNS:
		name := strings.ToLower(strings.TrimSuffix(e.Name, "."))
		if i := strings.LastIndexByte(name, '.'); i > 0 {
			if j := strings.LastIndexByte(name[:i], '.'); j >= 0 {
				name = name[j+1:]
			}
		}
		return "dns " + name
	case (e.Kind == trace.KindHTTP || e.Kind == trace.KindTLS) && e.Name != "":
		return "host " + strings.ToLower(e.Name)
	}
	return string(e.Kind) + " " + net.JoinHostPort(e.Addr, strconv.Itoa(int(e.Port)))
}

// clip cuts e's payload, target and headers to about n bytes: the head of
// a flow recorded past its destination's budget.
func clip(e *trace.Event, n int) {
	if len(e.Data) > n {
		e.Data = e.Data[:n:n]
	}
	if len(e.URI) > n {
		e.URI = e.URI[:n]
	}
	room := n
	for i, h := range e.Headers {
		if len(h) > room {
			e.Headers = e.Headers[:i:i]
			break
		}
		room -= len(h)
	}
}

// add records e, sent in flow f, stamping its time if unset.
func (r *recorder) add(f flow, e trace.Event) {
	if e.Time.IsZero() {
		e.Time = r.now()
	}
	key := destKey(&e)
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.dests[key]
	if d == nil {
		d = &destination{}
	}
	_, seen := d.flows[f.src]
	n := e.Size()
	head := false
	switch {
	case d.events < r.dest.events && d.bytes+n <= r.dest.bytes:
	case !seen && d.heads < destFlowHeads:
		clip(&e, flowHead)
		n, head = e.Size(), true
	default:
		r.dropped++
		return
	}
	if len(r.events) >= r.phase.events || r.bytes+n > r.phase.bytes {
		r.dropped++
		return
	}
	if head {
		d.heads++
	} else {
		d.events++
		d.bytes += n
	}
	if d.flows == nil {
		d.flows = map[netip.AddrPort]struct{}{}
		r.dests[key] = d
	}
	d.flows[f.src] = struct{}{}
	r.bytes += n
	r.events = append(r.events, e)
}

// drop counts something that could not be recorded (a refused connection).
func (r *recorder) drop() { r.dropN(1) }

// dropN counts n things that could not be recorded.
func (r *recorder) dropN(n uint64) {
	r.mu.Lock()
	r.dropped += n
	r.mu.Unlock()
}

// take returns the events recorded since the last take, followed by a
// KindLost event named "sinkhole" if anything was dropped meanwhile, and
// starts fresh budgets.
func (r *recorder) take() []trace.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	if r.dropped > 0 {
		out = append(out, trace.Event{Time: r.now(), Kind: trace.KindLost, Name: "sinkhole", Count: r.dropped})
	}
	r.events, r.bytes, r.dropped = nil, 0, 0
	r.dests = map[string]*destination{}
	return out
}
