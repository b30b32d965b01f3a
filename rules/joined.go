package rules

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/fumehood/fumehood/trace"
)

// Joining: a secret split over several requests, datagrams or DNS queries
// to one destination shows again when their payloads are put back
// together. What package code sent is appended per destination (HTTP
// host, DNS registered domain, address and port) across phases, in
// capture order, into slots: the bodies, each query parameter, the last
// path element, each header; all the labels left of the registered
// domain, and the labels at each of the first positions (a chunk beside a
// sequence number). A destination is searched once, at its last capture,
// with the same decoders as a single capture.

const (
	// maxJoined bounds the bytes kept per destination.
	maxJoined = 1 << 20
	// maxSlots bounds the slots per destination.
	maxSlots = 32
	// labelSlots is how many label positions get a slot of their own.
	labelSlots = 4
)

// joiner collects the payloads of one trace per destination.
type joiner struct {
	events []trace.Event
	last   map[string]uint64 // destination → seq of its last capture
	dests  map[string]*dest
	found  map[string]string // destination → what its search found
	// numbers counts the digit runs kept over all destinations
	numbers int
}

// dest is what was sent to one destination.
type dest struct {
	slots   []*slot
	bytes   int
	events  int
	numbers numbers
}

// slot is one part of the payloads to a destination, joined.
type slot struct {
	name   string
	text   []byte
	events int
}

// part is one piece of a capture for a slot.
type part struct {
	slot, text string
}

// add appends what e carries to its destination's slots.
func (j *joiner) add(e *trace.Event) {
	key, parts := joinParts(e)
	if key == "" {
		return
	}
	if j.dests == nil {
		j.dests = make(map[string]*dest)
	}
	d := j.dests[key]
	if d == nil {
		d = &dest{}
		j.dests[key] = d
	}
	d.events++
	for _, p := range parts {
		d.append(p)
	}
	if j.numbers < maxTraceNumbers {
		j.numbers += d.numbers.add(e.Phase, numberText(e))
	}
}

func (d *dest) append(p part) {
	if p.text == "" || d.bytes+len(p.text) > maxJoined {
		return
	}
	var s *slot
	for _, c := range d.slots {
		if c.name == p.slot {
			s = c
			break
		}
	}
	if s == nil {
		if len(d.slots) >= maxSlots {
			return
		}
		s = &slot{name: p.slot}
		d.slots = append(d.slots, s)
	}
	if s.events > 0 && strings.HasPrefix(p.slot, "label") {
		s.text = append(s.text, '.') // DNS views join labels and fold case
	}
	s.text = append(s.text, p.text...)
	s.events++
	d.bytes += len(p.text)
}

// completes returns the destination e is the last capture of, or "".
func (j *joiner) completes(e *trace.Event) string {
	if j.last == nil {
		j.last = make(map[string]uint64)
		for i := range j.events {
			if k := destination(&j.events[i]); k != "" {
				j.last[k] = j.events[i].Seq
			}
		}
	}
	k := destination(e)
	if k == "" || j.last[k] != e.Seq {
		return ""
	}
	return k
}

// joined returns what search finds in the slots of e's destination, when
// e is its last capture and more than one capture went there, or what its
// numbers carry (numbers.go): search finds it in the big number they
// spell, or a series follows the bytes of one of values, the planted
// values, named by names.
func (j *joiner) joined(e *trace.Event, search func(string) string, values, names []string) string {
	key := j.completes(e)
	d := j.dests[key]
	if d == nil || d.events < 2 {
		return ""
	}
	if out, ok := j.found[key]; ok {
		return out
	}
	out := ""
	for _, s := range d.slots {
		if s.events < 2 {
			continue
		}
		if f := search(string(s.text)); f != "" {
			out = f + ", joined from " + strconv.Itoa(s.events) + " captures to " + key
			break
		}
	}
	if out == "" {
		out = d.numbers.carried(search, values, names)
		if out != "" {
			out += " in " + strconv.Itoa(d.events) + " captures to " + key
		}
	}
	if j.found == nil {
		j.found = make(map[string]string)
	}
	j.found[key] = out
	return out
}

// destination returns the key under which e's payload is joined, or ""
// for an event that carries none.
func destination(e *trace.Event) string {
	k, _ := joinKey(e)
	return k
}

// joinKey returns e's destination and, for DNS, the query name.
func joinKey(e *trace.Event) (key, name string) {
	switch e.Kind {
	case trace.KindHTTP:
		if e.Name != "" {
			return "http " + strings.ToLower(e.Name), ""
		}
		return "http " + addrPort(e), ""
	case trace.KindDNS:
		return "dns " + domain(e.Name), e.Name
	case trace.KindSend:
		if n, ok := dnsWireName(string(e.Data)); ok {
			return "dns (sent) " + domain(n), n
		}
		if e.Addr == "" || len(e.Data) == 0 {
			return "", ""
		}
		return "send " + addrPort(e), ""
	case trace.KindTCP, trace.KindUDP:
		return string(e.Kind) + " " + addrPort(e), ""
	}
	return "", ""
}

func addrPort(e *trace.Event) string {
	a, err := netip.ParseAddr(e.Addr)
	if err != nil {
		return e.Addr + ":" + strconv.Itoa(int(e.Port))
	}
	return netip.AddrPortFrom(a, e.Port).String()
}

// joinParts returns e's destination and its payload cut into slots.
func joinParts(e *trace.Event) (string, []part) {
	key, name := joinKey(e)
	switch {
	case key == "":
		return "", nil
	case name != "":
		return key, labelParts(name)
	case e.Kind == trace.KindHTTP:
		return key, httpParts(e)
	}
	return key, []part{{"data", string(e.Data)}}
}

// labelParts returns the labels of a query name left of its registered
// domain: all of them, and each of the first labelSlots on its own.
func labelParts(name string) []part {
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	if len(labels) <= 2 {
		return nil
	}
	labels = labels[:len(labels)-2]
	parts := []part{{"labels", strings.Join(labels, ".")}}
	for i, l := range labels[:min(len(labels), labelSlots)] {
		parts = append(parts, part{"label " + strconv.Itoa(i), l})
	}
	return parts
}

// httpParts returns the body, each query parameter, the last path element
// and each header (but Host and Content-Length) of an HTTP request.
func httpParts(e *trace.Event) []part {
	parts := []part{{"body", string(e.Data)}}
	p, query, _ := strings.Cut(e.URI, "?")
	parts = append(parts, part{"path", p[strings.LastIndexByte(p, '/')+1:]})
	for kv := range strings.SplitSeq(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		parts = append(parts, part{"query " + k, v})
	}
	for _, h := range e.Headers {
		k, v, _ := strings.Cut(h, ":")
		k = strings.ToLower(strings.TrimSpace(k))
		if k != "host" && k != "content-length" {
			parts = append(parts, part{"header " + k, strings.TrimSpace(v)})
		}
	}
	return parts
}
