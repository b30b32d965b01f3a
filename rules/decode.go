package rules

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
)

// Decoding of captured payloads: a capture part (a URI, a body, a DNS
// name, a joined stream) and what it hides one or two layers down. The
// honeytoken matcher searches every view; Opaque judges the innermost.

const (
	// maxInflate bounds what one compressed stream may inflate to.
	maxInflate = 64 << 10
	// maxViews and maxViewBytes bound the views of one part: the work a
	// hostile capture can cause stays small.
	maxViews     = 24
	maxViewBytes = 256 << 10
	// maxStreams bounds the compressed streams looked for inside a part.
	maxStreams = 4
)

// view is a capture part or a decoding of it.
type view struct {
	text   string
	how    string // "" for the part itself, else how it was decoded
	folded bool   // a DNS name: case carries no meaning
}

// decoder derives views. It memoizes decompressions and the results of
// the functions that read captures for the current event, so the rules
// (and their match and detail) that read one body share the work.
type decoder struct {
	seq      uint64
	inflated map[string]inflation
	results  map[memoKey]string
	// readers, reused
	gzip   *gzip.Reader
	zlib   io.ReadCloser
	flate  io.ReadCloser
	brotli *brotli.Reader
}

type inflation struct {
	text, how string
	clean     bool // no corrupt data met: see readInflation
}

// memoKey names one function's result for one input.
type memoKey struct {
	fn byte
	s  string
}

// Functions whose results the decoder memoizes.
const (
	memoHoneytoken byte = iota
	memoOpaque
)

// event forgets what was memoized for an earlier event than seq.
func (d *decoder) event(seq uint64) {
	if seq == d.seq {
		return
	}
	d.seq = seq
	if len(d.inflated) > 0 {
		clear(d.inflated)
	}
	if len(d.results) > 0 {
		clear(d.results)
	}
}

// memo returns f(s), computed once per event for fn.
func (d *decoder) memo(fn byte, s string, f func(string) string) string {
	k := memoKey{fn, s}
	if out, ok := d.results[k]; ok {
		return out
	}
	out := f(s)
	if d.results == nil {
		d.results = make(map[memoKey]string)
	}
	d.results[k] = out
	return out
}

// views returns s and what it decodes to: URL and JSON unescaping, UTF-8
// code points as bytes, DNS labels joined, compressed streams inflated
// (gzip, zlib, raw deflate, brotli), base64/base32/hex runs decoded (and
// inflated when they hold a compressed stream).
func (d *decoder) views(s string) []view {
	vs := &viewSet{}
	vs.add(view{text: s})
	texts := []view{{text: s}}
	if strings.ContainsAny(s, "%+") {
		if u := urlUnescape(s); u != s && vs.add(view{text: u, how: "URL encoding"}) {
			texts = append(texts, view{text: u, how: "URL encoding"})
		}
	}
	if strings.Contains(s, `\`) {
		if u, ok := jsonUnescape(s); ok && vs.add(view{text: u, how: "JSON escapes"}) {
			texts = append(texts, view{text: u, how: "JSON escapes"})
		}
	}
	if l, ok := latin1(s); ok {
		vs.add(view{text: l, how: "UTF-8 code points"})
	}
	if name, ok := dnsWireName(s); ok {
		joined := view{text: strings.ReplaceAll(name, ".", ""), how: "DNS labels", folded: true}
		vs.add(joined)
		texts = append(texts, joined)
	} else if strings.Contains(s, ".") {
		joined := view{text: strings.ReplaceAll(s, ".", ""), how: "DNS labels", folded: true}
		vs.add(joined)
		texts = append(texts, joined)
	}
	for _, z := range d.streams(s) {
		vs.add(view{text: z.text, how: z.how})
	}
	for _, a := range numberArrays(s) {
		vs.add(a)
	}
	for _, t := range texts {
		for _, run := range encodedRuns(t.text) {
			for _, b := range runDecodings(run) {
				how := describe(b.how, t.how)
				if !vs.add(view{text: b.text, how: how}) {
					return vs.out
				}
				if z, ok := d.inflate(b.text, false); ok {
					vs.add(view{text: z.text, how: describe(z.how, how)})
				}
			}
		}
	}
	return vs.out
}

// minArray is the fewest numbers an array needs to be read as bytes.
const minArray = 8

// numberArrays reads the JSON-style arrays of integers in s ("[110,112,
// 109]") as bytes, the character codes a script builds a string from, and
// as the running sums of their elements (a delta-coded string: each number
// the difference from the previous byte). Arrays shorter than minArray or
// with an element outside a byte (as codes or as sums) give no view.
func numberArrays(s string) []view {
	var out []view
	for {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			return out
		}
		s = s[i+1:]
		j := strings.IndexByte(s, ']')
		if j < 0 {
			return out
		}
		codes, sums, ok := arrayBytes(s[:j])
		if !ok {
			continue
		}
		if codes != nil {
			out = append(out, view{text: string(codes), how: "number array"})
		}
		if sums != nil {
			out = append(out, view{text: string(sums), how: "delta-coded number array"})
		}
		s = s[j+1:]
	}
}

// arrayBytes parses a comma-separated list of integers; codes is nil when
// an element is not a byte, sums when a running sum is not.
func arrayBytes(list string) (codes, sums []byte, ok bool) {
	parts := strings.Split(list, ",")
	if len(parts) < minArray {
		return nil, nil, false
	}
	codes, sums = make([]byte, 0, len(parts)), make([]byte, 0, len(parts))
	sum := 0
	for _, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return nil, nil, false
		}
		if codes != nil && n >= 0 && n <= 255 {
			codes = append(codes, byte(n))
		} else {
			codes = nil
		}
		sum += n
		if sums != nil && sum >= 0 && sum <= 255 {
			sums = append(sums, byte(sum))
		} else {
			sums = nil
		}
	}
	return codes, sums, codes != nil || sums != nil
}

// viewSet collects views within the bounds.
type viewSet struct {
	out   []view
	bytes int
}

// add appends v unless a bound is reached, and reports whether there is
// room for more.
func (vs *viewSet) add(v view) bool {
	if len(vs.out) >= maxViews || vs.bytes+len(v.text) > maxViewBytes {
		return false
	}
	vs.out = append(vs.out, v)
	vs.bytes += len(v.text)
	return true
}

// describe names a form found in a view ("base64 in gzip").
func describe(form, how string) string {
	if how == "" {
		return form
	}
	return form + " in " + how
}

// streams inflates s as a whole (every format, headerless ones included)
// and the gzip and zlib streams that start inside it.
func (d *decoder) streams(s string) []inflation {
	var out []inflation
	if z, ok := d.inflate(s, true); ok {
		out = append(out, z)
	}
	for _, magic := range [][]byte{gzipMagic, {0x78, 0x9c}, {0x78, 0xda}, {0x78, 0x01}, {0x78, 0x5e}} {
		for off := 1; len(out) < maxStreams; {
			i := strings.Index(s[off:], string(magic))
			if i < 0 {
				break
			}
			if z, ok := d.inflate(s[off+i:], false); ok {
				out = append(out, z)
			}
			off += i + len(magic)
		}
	}
	return out
}

var gzipMagic = []byte{0x1f, 0x8b, 0x08}

// inflate decompresses s as gzip or zlib (recognised by their headers)
// or, when headerless is set, as raw deflate or brotli, and returns what
// came out (a stream cut short keeps what inflated before the cut). The
// result is memoized until reset.
func (d *decoder) inflate(s string, headerless bool) (inflation, bool) {
	if len(s) < 8 {
		return inflation{}, false
	}
	if z, ok := d.inflated[s]; ok {
		return z, z.text != ""
	}
	z := d.inflateAny(s, headerless)
	if d.inflated == nil {
		d.inflated = make(map[string]inflation)
	}
	d.inflated[s] = z
	return z, z.text != ""
}

// inflateAny decompresses s with the decoder's readers, which are reused:
// each holds a window of 32 KiB or more.
func (d *decoder) inflateAny(s string, headerless bool) inflation {
	src := strings.NewReader(s)
	switch {
	case strings.HasPrefix(s, string(gzipMagic)):
		if d.gzip == nil {
			d.gzip = new(gzip.Reader)
		}
		if d.gzip.Reset(src) == nil {
			return readInflation(d.gzip, "gzip")
		}
	case isZlibHeader(s):
		if d.zlib == nil {
			r, err := zlib.NewReader(src)
			if err != nil {
				return inflation{}
			}
			d.zlib = r
		} else if d.zlib.(zlib.Resetter).Reset(src, nil) != nil {
			return inflation{}
		}
		return readInflation(d.zlib, "zlib")
	}
	// Without a header anything may start to decode: only binary data is
	// tried, and only a stream that decodes cleanly counts.
	if !headerless || printable([]byte(s)) {
		return inflation{}
	}
	if d.flate == nil {
		d.flate = flate.NewReader(src)
	} else {
		d.flate.(flate.Resetter).Reset(src, nil) //nolint:errcheck // never fails without a dictionary
	}
	if z := readInflation(d.flate, "deflate"); z.clean {
		return z
	}
	src.Reset(s)
	if d.brotli == nil {
		d.brotli = brotli.NewReader(src)
	} else if d.brotli.Reset(src) != nil {
		return inflation{}
	}
	if z := readInflation(d.brotli, "brotli"); z.clean {
		return z
	}
	return inflation{}
}

// readInflation reads r up to maxInflate bytes. Clean means no corruption
// was met: the stream ended, reached the bound or was cut short (a body
// beyond the sinkhole's 4 KiB); a corrupt one keeps what came before.
func readInflation(r io.Reader, how string) inflation {
	out, err := io.ReadAll(io.LimitReader(r, maxInflate))
	clean := err == nil || errors.Is(err, io.ErrUnexpectedEOF)
	if len(out) == 0 {
		return inflation{}
	}
	return inflation{text: string(out), how: how, clean: clean}
}

// isZlibHeader reports whether b starts with a zlib header: deflate with
// a window of at most 32 KiB and a valid check value.
func isZlibHeader(b string) bool {
	return len(b) >= 2 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}

// decodedRun is one decoding of an encoded run.
type decodedRun struct {
	text, how string
}

// runDecodings decodes a run of base64-alphabet characters as every
// encoding its characters allow: hex, base32 (standard or extended hex
// alphabet, any case), base64 (standard or URL alphabet). A run may start
// with path characters ("/x/" before the payload), so the parts after
// each of its first slashes are decoded too.
func runDecodings(run string) []decodedRun {
	trimmed := strings.TrimRight(run, "=")
	candidates := []string{trimmed}
	for i, n := 0, 0; i < len(trimmed) && n < 3; i++ {
		if trimmed[i] == '/' && len(trimmed)-i-1 >= minEncoded {
			candidates = append(candidates, trimmed[i+1:])
			n++
		}
	}
	var out []decodedRun
	for _, c := range candidates {
		out = append(out, decodeRun(c)...)
	}
	return out
}

// decodeRun decodes one candidate run as hex, base32 and base64, each
// when its characters allow it.
func decodeRun(c string) []decodedRun {
	var out []decodedRun
	if len(c)%2 == 0 && allIn(c, isHex) {
		if b, err := hex.DecodeString(c); err == nil {
			out = append(out, decodedRun{string(b), "hex"})
		}
	}
	upper := strings.ToUpper(c)
	n := len(upper) / 8 * 8
	for _, enc := range []struct {
		e    *base32.Encoding
		in   func(byte) bool
		name string
	}{{base32Std, isBase32, "base32"}, {base32Hex, isBase32Hex, "base32hex"}} {
		if n > 0 && allIn(upper, enc.in) {
			if b, err := enc.e.DecodeString(upper[:n]); err == nil {
				out = append(out, decodedRun{string(b), enc.name})
			}
		}
	}
	if b, ok := base64Bytes(c); ok {
		out = append(out, decodedRun{string(b), "base64"})
	}
	return out
}

func allIn(s string, in func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !in(s[i]) {
			return false
		}
	}
	return true
}

func isBase32(c byte) bool    { return c >= 'A' && c <= 'Z' || c >= '2' && c <= '7' }
func isBase32Hex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'V' }

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

// jsonUnescape decodes the escapes of JSON strings in s (\uXXXX, \/, \n,
// ...), leaving malformed ones as they are. Code points below 256 become
// one byte each, as a script that XORs a string's characters and
// serialises it produced them; others become UTF-8.
func jsonUnescape(s string) (string, bool) {
	var b strings.Builder
	changed := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch e := s[i+1]; e {
		case 'u':
			v, err := strconv.ParseUint(s[min(i+2, len(s)):min(i+6, len(s))], 16, 16)
			if err != nil || i+6 > len(s) {
				b.WriteByte(c)
				continue
			}
			if v < 0x100 {
				b.WriteByte(byte(v))
			} else {
				b.WriteRune(rune(v))
			}
			i += 5
		case '/', '\\', '"':
			b.WriteByte(e)
			i++
		case 'n', 'r', 't', 'b', 'f':
			b.WriteByte(controlEscapes[e])
			i++
		default:
			b.WriteByte(c)
			continue
		}
		changed = true
	}
	return b.String(), changed
}

// controlEscapes maps the letter of a JSON control escape to its byte.
var controlEscapes = [256]byte{'n': '\n', 'r': '\r', 't': '\t', 'b': '\b', 'f': '\f'}

// latin1 returns s with its UTF-8 code points below 256 as single bytes,
// when s is UTF-8 holding some of U+0080..U+00FF and nothing beyond: the
// bytes of a string whose characters were XORed, sent as UTF-8.
func latin1(s string) (string, bool) {
	if strings.IndexByte(s, 0xc2) < 0 && strings.IndexByte(s, 0xc3) < 0 || !utf8.ValidString(s) {
		return "", false
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return "", false
		}
		b = append(b, byte(r))
	}
	return string(b), true
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

// Decoding is one way a captured payload reads once decoded: the text and
// how it was obtained ("base64", "gzip of base64", ...).
type Decoding struct {
	Text string `json:"text"`
	How  string `json:"how"`
}

// Decode returns what the rules see in a capture part s besides s itself
// (see views): the same decodings the honeytoken matcher searches, so an
// analyst reads what the rules read. Views that only fold DNS labels or
// reread code points are left out, being s again in another spelling.
func Decode(s string) []Decoding {
	if s == "" {
		return nil // views needs a part
	}
	var d decoder
	var out []Decoding
	for _, v := range d.views(s) {
		if v.how == "" || v.folded || v.how == "UTF-8 code points" {
			continue
		}
		out = append(out, Decoding{Text: v.text, How: v.how})
	}
	return out
}
