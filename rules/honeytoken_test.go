package rules

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"

	"github.com/fumehood/fumehood/trace"
)

const (
	htNPM = "npm_Q3vXk9LmP2rT8sWb4NcY7hJd1FgA6eZuKo5i"
	htAWS = "wJ8rT5kL2mN9pQ4sV7xZ1bC3dF6gH0jK+Y/uE2aR" // + and / change under URL and base64url encodings
)

func gz(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// dnsWire is a DNS query for name in wire format.
func dnsWire(name string) string {
	q := []byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	for l := range strings.SplitSeq(name, ".") {
		q = append(q, byte(len(l)))
		q = append(q, l...)
	}
	return string(append(q, 0, 0, 1, 0, 1))
}

func labels(s string, n int) string {
	var parts []string
	for len(s) > n {
		parts = append(parts, s[:n])
		s = s[n:]
	}
	return strings.Join(append(parts, s), ".")
}

func newTokens(plants ...trace.Event) *tokens {
	t := &tokens{}
	for i := range plants {
		t.add(&plants[i])
	}
	return t
}

func plant(name, where, value string) trace.Event {
	return trace.Event{Kind: trace.KindPlant, Phase: "setup", Name: name, Path: where, Data: []byte(value)}
}

func TestHoneytokenForms(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	tok := newTokens(
		plant("npm-token", "/home/alex/.npmrc", htNPM),
		plant("aws-secret-access-key", "env:AWS_SECRET_ACCESS_KEY", htAWS),
		plant("ssh-private-key", "/home/alex/.ssh/id_rsa", keyPEM),
		plant("short", "env:X", "abc"), // too short to search
	)
	b64 := func(enc *base64.Encoding, s string) string { return enc.EncodeToString([]byte(s)) }
	jsonPEM, _ := json.Marshal(map[string]string{"key": keyPEM})
	tests := []struct {
		name, capture string
		want          string // "" for no match
	}{
		{"plain in a query string", "/c?t=" + htNPM + "&x=1", "npm-token (/home/alex/.npmrc) as plain"},
		{"reversed", "v=" + reverse(htNPM), "npm-token (/home/alex/.npmrc) as reversed"},
		{"hex", "/" + hex.EncodeToString([]byte(htNPM)), "as hex"},
		{"upper hex", strings.ToUpper(hex.EncodeToString([]byte(htAWS))), "aws-secret-access-key (env:AWS_SECRET_ACCESS_KEY) as hex"},
		{"base64 alone, padded", b64(base64.StdEncoding, htNPM), "as base64"},
		{"base64 at offset 1", b64(base64.RawStdEncoding, "x"+htAWS+"tail"), "as base64"},
		{"base64 at offset 2", b64(base64.StdEncoding, `{"`+htNPM+`"}`), "as base64"},
		{"base64 at offset 0 of a stream", b64(base64.StdEncoding, htNPM+"\n"+"HOME=/home/alex"), "as base64"},
		{"base64url", b64(base64.RawURLEncoding, "ab"+htAWS), "as base64"}, // url or std: a part without +/ reads the same
		{"URL-encoded", "d=" + url.QueryEscape("k="+htAWS), "as plain in URL encoding"},
		{"base64 inside URL encoding", "d=" + url.QueryEscape(b64(base64.StdEncoding, "k="+htAWS)), "as base64"}, // found between the escapes already
		{"hex split across DNS labels", labels(hex.EncodeToString([]byte(htAWS)), 30) + ".t.exfil.invalid", "as hex in DNS labels"},
		{"plain split across labels, lowercased", strings.ToLower(labels(htNPM, 13)) + ".exfil.invalid", "as plain, case-folded in DNS labels"},
		{"DNS wire-format query", dnsWire(labels(hex.EncodeToString([]byte(htNPM)), 40) + ".x.invalid"), "as hex in DNS labels"},
		{"gzip body", "PK" + gz(t, "token: "+htNPM), "as plain in gzip"},
		{"gzip in base64", b64(base64.StdEncoding, gz(t, `{"aws":"`+htAWS+`"}`)), "as plain in gzip in base64"},
		{"gzip followed by other bytes", "--b\r\n" + gz(t, "k="+htNPM) + "\r\n--b--\r\n", "as plain in gzip"},
		{"long key cut at the body limit", "key=" + keyPEM[:700], "ssh-private-key (/home/alex/.ssh/id_rsa) as plain"},
		{"long key JSON-escaped", string(jsonPEM), "ssh-private-key"},
		{"long key in base64", b64(base64.StdEncoding, keyPEM), "ssh-private-key (/home/alex/.ssh/id_rsa) as base64"},

		{"XOR 0x5a", string(xorBytes("t="+htNPM, 0x5a)), "npm-token (/home/alex/.npmrc) as plain XOR 0x5a"},
		{"XOR 0xa7 in base64", b64(base64.StdEncoding, string(xorBytes(htAWS, 0xa7))), "as plain XOR 0xa7 in base64"},
		{"XOR of base64", string(xorBytes(b64(base64.StdEncoding, htNPM), 0x13)), "as base64 XOR 0x13"},
		{"base32 at offset 3", base32.StdEncoding.EncodeToString([]byte("abc" + htNPM)), "as base32"},
		{"base32 lowercase", strings.ToLower(base32.StdEncoding.EncodeToString([]byte(htAWS))), "as base32"},
		{"base32hex", base32.HexEncoding.EncodeToString([]byte("z" + htNPM)), "as base32hex"},
		{"base64 of reversed", b64(base64.StdEncoding, reverse(htNPM)), "as reversed in base64"},
		{"JSON unicode escapes", `{"k":"` + jsonEscaped(htAWS) + `"}`, "as plain in JSON escapes"},
		{"twelve bytes of it", "id=" + htNPM[10:22], "as plain (part)"},
		{"zlib", zl(t, "token="+htNPM), "as plain in zlib"},
		{"raw deflate", deflated(t, "token="+htNPM), "as plain in deflate"},
		{"brotli", brotlied(t, "token="+htNPM), "as plain in brotli"},
		{"gzip of base64", gz(t, b64(base64.StdEncoding, htAWS)), "as base64 in gzip"},
		{"character codes", `{"c":` + codes(htNPM, false) + `}`, "as plain in number array"},
		{"delta-coded character codes", `{"samples":` + codes(`{"K":"`+htAWS+`"}`, true) + `}`, "as plain in delta-coded number array"},
		{"XOR of character codes", codes(string(xorBytes(htNPM, 0x21)), false), "as plain XOR 0x21 in number array"},

		{"a token of the same shape", "/c?t=npm_" + strings.Repeat("Ab1", 12), ""},
		{"the prefix only", "npm_Q3vX", ""},
		{"a short planted value", "abcabcabc", ""},
		{"PEM header only", "-----BEGIN RSA PRIVATE KEY-----\nMIIE", ""},
		{"seven bytes of it", "id=" + htNPM[10:17] + "&b=" + htNPM[20:27], ""},
		{"XOR of something else", string(xorBytes("npm_"+strings.Repeat("Zq9", 12), 0x5a)), ""},
		{"gzip of something else", gz(t, "hello world, nothing planted here"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tok.find(tt.capture)
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("find = %q, want %q", got, tt.want)
			}
		})
	}
}

func xorBytes(s string, k byte) []byte {
	b := []byte(s)
	for i := range b {
		b[i] ^= k
	}
	return b
}

func jsonEscaped(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

func compressed(t *testing.T, w io.WriteCloser, buf *bytes.Buffer, s string) string {
	t.Helper()
	w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func zl(t *testing.T, s string) string {
	var b bytes.Buffer
	return compressed(t, zlib.NewWriter(&b), &b, s)
}

func deflated(t *testing.T, s string) string {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	return compressed(t, w, &b, s)
}

func brotlied(t *testing.T, s string) string {
	var b bytes.Buffer
	return compressed(t, brotli.NewWriter(&b), &b, s)
}

// TestHoneytokenJoined checks that a secret split over captures to one
// destination is found at the last of them, and only there.
func TestHoneytokenJoined(t *testing.T) {
	hexNPM := hex.EncodeToString([]byte(htNPM))
	events := []trace.Event{plant("npm-token", "/home/alex/.npmrc", htNPM)}
	for i := 0; i < len(hexNPM); i += 16 {
		events = append(events,
			trace.Event{Kind: trace.KindDNS, Name: fmt.Sprintf("%d.%s.x.exfil.invalid", i, hexNPM[i:min(i+16, len(hexNPM))])},
			trace.Event{Kind: trace.KindDNS, Name: "registry.example.invalid"})
	}
	for i := range events {
		events[i].Seq = uint64(i + 1)
	}
	tok := newTokens(events[0])
	tok.join.events = events
	var got []string
	for i := range events[1:] {
		e := &events[i+1]
		tok.observe(e, false)
		if f := tok.joined(e); f != "" {
			got = append(got, fmt.Sprintf("#%d %s", e.Seq, f))
		}
	}
	want := []string{"#10 npm-token (/home/alex/.npmrc) as hex in DNS labels, joined from 5 captures to dns exfil.invalid"}
	if !slices.Equal(got, want) {
		t.Errorf("joined = %q, want %q", got, want)
	}
}

func TestOpaque(t *testing.T) {
	// Seeded, so that the run is the same every time: a random stream may
	// also happen to read as a truncated brotli stream of its own bytes.
	random := make([]byte, 600)
	chacha := mrand.NewChaCha8([32]byte{7})
	chacha.Read(random)
	text := strings.Repeat(`{"event":"install","package":"pkg","version":"1.0.0"}`, 12)
	tests := []struct {
		name, payload, want string // want: "" for not opaque
	}{
		{"random bytes", string(random), "bytes at 7."},
		{"base64 of random", "d=" + base64.StdEncoding.EncodeToString(random[:96]), "96 bytes at "},
		{"hex of random", hex.EncodeToString(random[:80]), "in hex"},
		{"gzip of random", gz(t, string(random)), "bits/byte in gzip"},
		{"too short", string(random[:40]), ""},
		{"text", text, ""},
		{"gzip of text", gz(t, text), ""},
		{"base64 of text", base64.StdEncoding.EncodeToString([]byte(text)), ""},
		{"TLS ClientHello", "\x16\x03\x01\x02\x00" + string(random), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &decoder{}
			got := d.opaque(tt.payload)
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("opaque = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestOpaqueRandomSeeds checks that random bytes are opaque whichever way
// they happen to decode: some random streams also read as a truncated
// brotli stream of nearly their own length.
func TestOpaqueRandomSeeds(t *testing.T) {
	d := &decoder{}
	for seed := range byte(64) {
		random := make([]byte, 600)
		mrand.NewChaCha8([32]byte{seed}).Read(random)
		if got := d.opaque(string(random)); !strings.Contains(got, "bytes at 7.") {
			t.Errorf("seed %d: opaque = %q, want high entropy", seed, got)
		}
	}
}

func TestHoneytokenNoPlants(t *testing.T) {
	if got := newTokens().find("npm_Q3vXk9LmP2rT8sWb4NcY7hJd1FgA6eZuKo5i"); got != "" {
		t.Errorf("find without plants = %q, want \"\"", got)
	}
}

// TestHoneytokenEvidence checks that a hit names the token, the form, the
// capture and the process behind it.
func TestHoneytokenEvidence(t *testing.T) {
	s, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	tr := &trace.Trace{Events: []trace.Event{
		{Seq: 1, Phase: "setup", Kind: trace.KindPlant, Name: "npm-token", Path: "/home/alex/.npmrc", Data: []byte(htNPM)},
		{Seq: 2, Phase: "import", Kind: trace.KindExec, TGID: 7, PID: 7, Start: 1, Path: "/usr/bin/node", Argv: []string{"node", "-e", "require('pkg')"}},
		{Seq: 3, Phase: "import", Kind: trace.KindConnect, TGID: 7, PID: 7, Start: 1, Family: 2, Addr: "100.64.0.1", Port: 80},
		{Seq: 4, Phase: "import", Kind: trace.KindHTTP, Addr: "100.64.0.1", Port: 80, Name: "c.invalid", Method: "POST", URI: "/", Data: []byte(base64.StdEncoding.EncodeToString([]byte("t=" + htNPM)))},
	}}
	j := s.Judge(tr)
	for _, h := range j.Hits {
		if h.Rule != "honeytoken-exfil" {
			continue
		}
		want := "#4 http POST http://c.invalid/"
		if len(h.Evidence) != 1 || !strings.HasPrefix(h.Evidence[0], want) ||
			!strings.HasSuffix(h.Evidence[0], "— npm-token (/home/alex/.npmrc) as base64, sent by pid 7 node -e require('pkg')") {
			t.Errorf("evidence = %q, want the capture, the token, its form and the sender", h.Evidence)
		}
		if j.Verdict != "malicious" {
			t.Errorf("verdict = %s, want malicious", j.Verdict)
		}
		return
	}
	t.Errorf("honeytoken-exfil did not hit; hits %+v", j.Hits)
}

// codes renders s as a JSON array of its bytes, or of the differences
// between each byte and the one before (delta coding).
func codes(s string, delta bool) string {
	var b strings.Builder
	b.WriteByte('[')
	prev := 0
	for i := range len(s) {
		if i > 0 {
			b.WriteByte(',')
		}
		n := int(s[i])
		if delta {
			n, prev = n-prev, n
		}
		b.WriteString(strconv.Itoa(n))
	}
	b.WriteByte(']')
	return b.String()
}
