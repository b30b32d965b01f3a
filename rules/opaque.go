package rules

import "fmt"

// Opaque payloads: bytes with no structure a reader could check, that is
// encrypted or random data, whatever they are wrapped in. Compression is
// looked through (a gzipped JSON body is text), and so are base64, base32
// and hex runs (base64 of text is text).

const (
	// minOpaque is the shortest payload judged: a key or a hash is shorter.
	minOpaque = 64
	// opaqueEntropy is the entropy from which bytes count as random
	// (bits per byte). Text and source code stay below 5.5; 64 random
	// bytes measure about 5.7, 4 KiB about 7.95.
	opaqueEntropy = 5.5
)

// opaque describes the opaque payload s carries ("N bytes at E
// bits/byte in HOW"), or returns "". A TLS record (a handshake the
// sinkhole did not terminate) is not a payload. A stream that inflates
// cleanly is judged by what it inflates to; encoded runs by what they
// decode to; text is never opaque.
func (d *decoder) opaque(s string) string {
	if isTLSRecord(s) {
		return ""
	}
	if z, ok := d.inflate(s, true); ok && z.clean {
		return within(opaqueBytes(z.text), z.how)
	}
	for _, run := range encodedRuns(s) {
		for _, r := range runDecodings(run) {
			inner, how := r.text, r.how
			if z, ok := d.inflate(inner, false); ok && z.clean {
				inner, how = z.text, z.how+" in "+how
			}
			if o := opaqueBytes(inner); o != "" {
				return within(o, how)
			}
		}
	}
	return opaqueBytes(s)
}

// opaqueBytes describes b when it is at least minOpaque bytes of binary
// data with an entropy of at least opaqueEntropy, else returns "".
func opaqueBytes(b string) string {
	if len(b) < minOpaque || printable([]byte(b)) {
		return ""
	}
	if e := entropy(b); e >= opaqueEntropy {
		return fmt.Sprintf("%d bytes at %.1f bits/byte", len(b), e)
	}
	return ""
}

func within(o, how string) string {
	if o == "" {
		return ""
	}
	return describe(o, how)
}

// isTLSRecord reports whether s starts like a TLS handshake record.
func isTLSRecord(s string) bool {
	return len(s) >= 3 && s[0] == 0x16 && s[1] == 0x03 && s[2] <= 0x04
}
