package rules

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/fumehood/fumehood/trace"
)

// Honeytoken matching: the plant events of a trace name the fake secrets
// of the analysis; tokens holds every form of each that the exfiltration
// rule recognises in a capture, computed once per trace, indexed by their
// first keyLen bytes so that one pass over a view of a capture finds them
// all. Captures are decoded into views (decode.go); single-byte XOR is
// found without trying keys, by comparing the differences of neighbouring
// bytes, which XOR with one key leaves unchanged.

const (
	// keyLen is the length of the index key: the shortest pattern.
	keyLen = 8
	// minToken is the shortest planted value searched for; shorter ones
	// would match by chance.
	minToken = 8
	// fragLen and fragStride cut values longer than maxWhole into
	// fragments, searched each on its own: a capture cut short (the
	// sinkhole keeps the first 4 KiB of a body) or a file sent with its
	// line breaks escaped still shows most of them. Fragments start at
	// fragStride, after the value's head, which is often a fixed prefix
	// (a PEM header, a JWT header) shared with values that are not ours.
	maxWhole   = 64
	fragLen    = 32
	fragStride = 32
	// maxFrags bounds the fragments of one value.
	maxFrags = 64
	// windowLen is the shortest part of a value found on its own (plain
	// or case-folded): any windowLen bytes of a value up to maxWhole long
	// after its first headLen (a fixed prefix such as "npm_" or "AKIA").
	windowLen = 12
	headLen   = 4
)

// pattern is one form of one planted value.
type pattern struct {
	s     string
	token int
	form  string
	first byte // delta patterns: the form's first byte, to name the key
}

// tokens is the planted secrets of one trace and their forms.
type tokens struct {
	names  []string // "NAME (PATH)" per token
	values []string
	wheres []string // the plant's path, or "env:NAME", per token
	issuer []string // the host the plant says issued it, or "", per token
	index  map[string][]pattern
	folded map[string][]pattern // lowercased plain and hex forms, for DNS names
	delta  map[string][]pattern // neighbour differences of every form: XOR
	// parts and partsFolded hold the windows of short values, searched
	// when no whole form is found
	parts, partsFolded map[string][]pattern
	dirty              bool
	dec                *decoder
	join               joiner
}

// active reports whether the trace planted anything to look for.
func (t *tokens) active() bool { return len(t.values) > 0 }

// add records a plant event.
func (t *tokens) add(e *trace.Event) {
	if len(e.Data) < minToken {
		return
	}
	t.names = append(t.names, e.Name+" ("+e.Path+")")
	t.values = append(t.values, string(e.Data))
	t.wheres = append(t.wheres, e.Path)
	t.issuer = append(t.issuer, strings.ToLower(e.Addr))
	t.dirty = true
}

// build computes the forms of every planted value seen so far.
func (t *tokens) build() {
	t.index = make(map[string][]pattern)
	t.folded = make(map[string][]pattern)
	t.delta = make(map[string][]pattern)
	t.parts = make(map[string][]pattern)
	t.partsFolded = make(map[string][]pattern)
	for i, v := range t.values {
		for _, frag := range fragments(v) {
			t.addForms(i, frag)
		}
		for _, w := range windows(v) {
			t.put(t.parts, pattern{s: w, token: i, form: "plain (part)"})
			t.put(t.partsFolded, pattern{s: strings.ToLower(w), token: i, form: "plain (part)"})
		}
	}
	for _, ps := range t.index {
		for _, p := range ps {
			t.put(t.delta, pattern{s: deltas(p.s), token: p.token, form: p.form, first: p.s[0]})
		}
	}
	t.dirty = false
}

// fragments returns v itself when it is short, else its fragments.
func fragments(v string) []string {
	if len(v) <= maxWhole {
		return []string{v}
	}
	var out []string
	for off := fragStride; off+fragLen <= len(v) && len(out) < maxFrags; off += fragStride {
		out = append(out, v[off:off+fragLen])
	}
	if len(out) == 0 {
		out = append(out, v[len(v)-fragLen:])
	}
	return out
}

// windows returns every windowLen-byte part of a value up to maxWhole
// long after its head; longer values are covered by their fragments.
func windows(v string) []string {
	if len(v) > maxWhole {
		return nil
	}
	var out []string
	for off := headLen; off+windowLen < len(v); off++ {
		out = append(out, v[off:off+windowLen])
	}
	return out
}

func (t *tokens) put(m map[string][]pattern, p pattern) {
	if len(p.s) < keyLen {
		return
	}
	k := p.s[:keyLen]
	m[k] = append(m[k], p)
}

var (
	base32Std = base32.StdEncoding.WithPadding(base32.NoPadding)
	base32Hex = base32.HexEncoding.WithPadding(base32.NoPadding)
)

// addForms indexes the forms of one value (or fragment): plain, reversed,
// hex in either case, base64 and base64url, base32 with either alphabet in
// either case.
func (t *tokens) addForms(token int, v string) {
	b := []byte(v)
	h := hex.EncodeToString(b)
	forms := []pattern{
		{s: v, form: "plain"},
		{s: reverse(v), form: "reversed"},
		{s: h, form: "hex"},
		{s: strings.ToUpper(h), form: "hex"},
	}
	for _, mid := range aligned(b, 3, 4, base64.RawStdEncoding.EncodeToString) {
		forms = append(forms, pattern{s: mid, form: "base64"})
		if url := strings.NewReplacer("+", "-", "/", "_").Replace(mid); url != mid {
			forms = append(forms, pattern{s: url, form: "base64url"})
		}
	}
	for _, enc := range []struct {
		encode func([]byte) string
		name   string
	}{{base32Std.EncodeToString, "base32"}, {base32Hex.EncodeToString, "base32hex"}} {
		for _, mid := range aligned(b, 5, 8, enc.encode) {
			forms = append(forms, pattern{s: mid, form: enc.name}, pattern{s: strings.ToLower(mid), form: enc.name})
		}
	}
	for _, p := range forms {
		p.token = token
		t.put(t.index, p)
	}
	t.put(t.folded, pattern{s: strings.ToLower(v), token: token, form: "plain"})
	t.put(t.folded, pattern{s: h, token: token, form: "hex"})
}

// aligned returns the encodings of b at each alignment it can have inside
// a longer stream of an encoding that turns groups of in bytes into out
// characters: b is encoded after 0..in-1 filler bytes and only the
// characters that depend on b alone are kept (no padding, so the form
// with and without padding is the same).
func aligned(b []byte, in, out int, encode func([]byte) string) []string {
	var forms []string
	for align := range in {
		enc := encode(append(make([]byte, align), b...))
		start := 0
		if align > 0 {
			start = out
		}
		end := (align + len(b)) / in * out
		if end-start >= keyLen {
			forms = append(forms, enc[start:end])
		}
	}
	return forms
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// deltas returns the XOR of each byte of s with the next: the same for s
// and for s XORed with any single byte.
func deltas(s string) string {
	if len(s) < 2 {
		return ""
	}
	d := make([]byte, len(s)-1)
	for i := range d {
		d[i] = s[i] ^ s[i+1]
	}
	return string(d)
}

// observe records a capture (or send) of package code for joining; sent
// by a package manager (pm), it is left out. An Authorization header
// that carries a planted value whole is judged on its own capture
// (theft, or a token used for its own service) and is not joined: the
// same header on several requests is not a secret split over them.
func (t *tokens) observe(e *trace.Event, pm bool) {
	if pm {
		return
	}
	if auth, rest, ok := splitAuth(e.Headers); ok && t.carriesWhole(auth) {
		without := *e
		without.Headers = rest
		e = &without
	}
	t.join.add(e)
}

// joined returns "NAME (PATH) as FORM, joined from N captures to DEST"
// when e is the last capture to its destination and the payloads sent
// there, joined, carry a planted value; else "".
func (t *tokens) joined(e *trace.Event) string {
	if !t.active() || e == nil {
		return ""
	}
	t.prepare()
	return t.join.joined(e, t.search, t.values, t.names)
}

// prepare builds the forms when plants were added and makes the decoder.
func (t *tokens) prepare() {
	if t.dirty {
		t.build()
	}
	if t.dec == nil {
		t.dec = &decoder{}
	}
}

// find returns "NAME (PATH) as FORM" for the first planted value found in
// any of parts in any of its forms, or "". Results are memoized per event.
func (t *tokens) find(parts ...string) string {
	if !t.active() {
		return ""
	}
	t.prepare()
	for _, s := range parts {
		if len(s) < keyLen {
			continue
		}
		if out := t.dec.memo(memoHoneytoken, s, t.search); out != "" {
			return out
		}
	}
	return ""
}

// search looks for the planted values in every view of s: whole forms
// first, then parts.
func (t *tokens) search(s string) string {
	views := t.dec.views(s)
	for _, v := range views {
		if out := t.searchWhole(v); out != "" {
			return out
		}
	}
	for _, v := range views {
		if out := t.searchIn(v, t.parts, t.partsFolded); out != "" {
			return out
		}
	}
	return ""
}

// searchWhole looks for the forms of the planted values in one view, also
// lowercased in a DNS name and XORed with one byte.
func (t *tokens) searchWhole(v view) string {
	if out := t.searchIn(v, t.index, t.folded); out != "" {
		return out
	}
	// a match here is not plain (key 0): the index found none
	if p, at, ok := scan(t.delta, deltas(v.text)); ok {
		return t.names[p.token] + " as " + describe(fmt.Sprintf("%s XOR 0x%02x", p.form, v.text[at]^p.first), v.how)
	}
	return ""
}

// searchIn looks for the patterns of index in v, and for those of folded
// in v lowercased when v is a DNS name.
func (t *tokens) searchIn(v view, index, folded map[string][]pattern) string {
	if p, _, ok := scan(index, v.text); ok {
		return t.names[p.token] + " as " + describe(p.form, v.how)
	}
	if v.folded {
		if p, _, ok := scan(folded, strings.ToLower(v.text)); ok {
			return t.names[p.token] + " as " + describe(p.form+", case-folded", v.how)
		}
	}
	return ""
}

// scan returns the first pattern of index found in s and where.
func scan(index map[string][]pattern, s string) (pattern, int, bool) {
	for i := 0; i+keyLen <= len(s); i++ {
		ps, ok := index[s[i:i+keyLen]]
		if !ok {
			continue
		}
		for _, p := range ps {
			if strings.HasPrefix(s[i:], p.s) {
				return p, i, true
			}
		}
	}
	return pattern{}, 0, false
}
