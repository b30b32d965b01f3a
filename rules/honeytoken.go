package rules

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"io"
	"strings"

	"github.com/fumehood/fumehood/trace"
)

// Honeytoken matching: the plant events of a trace name the fake secrets
// of the analysis; tokens holds every form of each that the exfiltration
// rule recognises in a capture, computed once per trace, indexed by their
// first keyLen bytes so that one pass over a capture finds them all.

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
	// maxGunzip bounds what one gzip stream may inflate to.
	maxGunzip = 64 << 10
	// maxVariants bounds the decoded variants of one capture.
	maxVariants = 16
)

// pattern is one form of one planted value.
type pattern struct {
	s     string
	token int
	form  string
}

// tokens is the planted secrets of one trace and their forms.
type tokens struct {
	names  []string // "NAME (PATH)" per token
	values []string
	index  map[string][]pattern
	folded map[string][]pattern // lowercased plain and hex forms, for DNS names
	dirty  bool
	// the last query and its answer: a rule's match and detail ask twice
	lastIn, lastOut string
}

// add records a plant event.
func (t *tokens) add(e *trace.Event) {
	if len(e.Data) < minToken {
		return
	}
	t.names = append(t.names, e.Name+" ("+e.Path+")")
	t.values = append(t.values, string(e.Data))
	t.dirty = true
}

// build computes the forms of every planted value seen so far.
func (t *tokens) build() {
	t.index = make(map[string][]pattern)
	t.folded = make(map[string][]pattern)
	for i, v := range t.values {
		for _, frag := range fragments(v) {
			t.addForms(i, frag)
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

func (t *tokens) put(m map[string][]pattern, p pattern) {
	if len(p.s) < keyLen {
		return
	}
	k := p.s[:keyLen]
	m[k] = append(m[k], p)
}

func (t *tokens) addForms(token int, v string) {
	b := []byte(v)
	h := hex.EncodeToString(b)
	for _, p := range []pattern{
		{v, token, "plain"},
		{reverse(v), token, "reversed"},
		{h, token, "hex"},
		{strings.ToUpper(h), token, "hex"},
	} {
		t.put(t.index, p)
	}
	t.put(t.folded, pattern{strings.ToLower(v), token, "plain"})
	t.put(t.folded, pattern{h, token, "hex"})
	// base64 at each of the three alignments v can have inside a longer
	// stream: encode v after 0, 1 or 2 filler bytes and keep the
	// characters that depend on v alone (no padding, so the form with and
	// without padding is the same).
	for align := range 3 {
		enc := base64.RawStdEncoding.EncodeToString(append(make([]byte, align), b...))
		start := 0
		if align > 0 {
			start = 4
		}
		end := (align + len(b)) / 3 * 4
		if end-start < keyLen {
			continue
		}
		mid := enc[start:end]
		t.put(t.index, pattern{mid, token, "base64"})
		if url := strings.NewReplacer("+", "-", "/", "_").Replace(mid); url != mid {
			t.put(t.index, pattern{url, token, "base64url"})
		}
	}
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// variant is a view of a capture: the text itself or a decoding of it.
type variant struct {
	text   string
	how    string // "" for the text itself, else how it was decoded
	folded bool   // a DNS name: search the lowercased forms too
}

// find returns "NAME (PATH) as FORM" for the first planted value found in
// s in any of its forms, or "".
func (t *tokens) find(s string) string {
	if len(t.names) == 0 || len(s) < keyLen {
		return ""
	}
	if s == t.lastIn && !t.dirty {
		return t.lastOut
	}
	if t.dirty {
		t.build()
	}
	out := ""
	for _, v := range variants(s) {
		if p, ok := t.scan(t.index, v.text); ok {
			out = t.names[p.token] + " as " + describe(p.form, v.how)
			break
		}
		if v.folded {
			if p, ok := t.scan(t.folded, strings.ToLower(v.text)); ok {
				out = t.names[p.token] + " as " + describe(p.form+", case-folded", v.how)
				break
			}
		}
	}
	t.lastIn, t.lastOut = s, out
	return out
}

func describe(form, how string) string {
	if how == "" {
		return form
	}
	return form + " in " + how
}

// scan returns the first pattern of index found in s.
func (t *tokens) scan(index map[string][]pattern, s string) (pattern, bool) {
	for i := 0; i+keyLen <= len(s); i++ {
		ps, ok := index[s[i:i+keyLen]]
		if !ok {
			continue
		}
		for _, p := range ps {
			if strings.HasPrefix(s[i:], p.s) {
				return p, true
			}
		}
	}
	return pattern{}, false
}

// variants returns s and what it decodes to: URL-decoded, DNS labels
// joined (dotted names and DNS wire-format queries), gunzipped streams
// (also inside base64).
func variants(s string) []variant {
	out := []variant{{text: s}}
	if strings.Contains(s, "%") {
		if u := urlUnescape(s); u != s {
			out = append(out, variant{text: u, how: "URL encoding"})
		}
	}
	if name, ok := dnsWireName(s); ok {
		out = append(out, variant{text: strings.ReplaceAll(name, ".", ""), how: "DNS labels", folded: true})
	}
	if strings.Contains(s, ".") {
		out = append(out, variant{text: strings.ReplaceAll(s, ".", ""), how: "DNS labels", folded: true})
	}
	for _, z := range gzipStreams(s) {
		if len(out) >= maxVariants {
			break
		}
		out = append(out, variant{text: z, how: "gzip"})
	}
	for _, run := range encodedRuns(s) {
		if len(out) >= maxVariants {
			break
		}
		raw, ok := base64Bytes(run)
		if !ok || !bytes.HasPrefix(raw, gzipMagic) {
			continue
		}
		if z, ok := gunzip(raw); ok {
			out = append(out, variant{text: z, how: "gzip in base64"})
		}
	}
	return out
}

// urlUnescape decodes %XX escapes (and + as a space), leaving malformed
// escapes as they are.
func urlUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			v, _ := hex.DecodeString(s[i+1 : i+3])
			b.WriteByte(v[0])
			i += 2
		case c == '+':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// dnsWireName returns the query name of s when s is a DNS message in wire
// format (a UDP payload a resolver sent), with dots between the labels.
func dnsWireName(s string) (string, bool) {
	const header = 12
	if len(s) < header+2 || s[2]&0x80 != 0 || s[4] != 0 || s[5] != 1 {
		return "", false // a query (QR clear) with one question
	}
	var labels []string
	for i := header; i < len(s); {
		n := int(s[i])
		if n == 0 {
			return strings.Join(labels, "."), len(labels) > 0
		}
		if n > 63 || i+1+n > len(s) {
			// a cut payload (the probe keeps 128 bytes): keep what is there
			if n <= 63 && i+1 < len(s) {
				labels = append(labels, s[i+1:])
			}
			return strings.Join(labels, "."), len(labels) > 0
		}
		labels = append(labels, s[i+1:i+1+n])
		i += 1 + n
	}
	return strings.Join(labels, "."), len(labels) > 0
}

var gzipMagic = []byte{0x1f, 0x8b, 0x08}

// gzipStreams inflates the gzip streams that start in s (at most four), as
// far as they go. Go's inflater hands out a deflate block's output when the
// block ends (or its 32 KiB window fills), so a stream cut inside its
// first block (a body beyond the sinkhole's 4 KiB) yields nothing.
func gzipStreams(s string) []string {
	var out []string
	for off := 0; len(out) < 4; {
		i := strings.Index(s[off:], string(gzipMagic))
		if i < 0 {
			break
		}
		if z, ok := gunzip([]byte(s[off+i:])); ok {
			out = append(out, z)
		}
		off += i + len(gzipMagic)
	}
	return out
}

func gunzip(b []byte) (string, bool) {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return "", false
	}
	out, _ := io.ReadAll(io.LimitReader(r, maxGunzip)) // a cut stream keeps what inflated
	return string(out), len(out) > 0
}

// base64Bytes decodes a base64 run (standard or URL alphabet, padded or
// not) to bytes, whatever they are.
func base64Bytes(run string) ([]byte, bool) {
	run = strings.TrimRight(run, "=")
	if len(run)%4 == 1 {
		run = run[:len(run)-1]
	}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(run); err == nil {
			return b, true
		}
	}
	return nil, false
}
