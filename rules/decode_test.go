package rules

import (
	"slices"
	"testing"
)

// TestDecode checks the decodings shown to analysts: those the matcher
// searches, without the part itself and its mere respellings.
func TestDecode(t *testing.T) {
	tests := []struct {
		in   string
		want []Decoding
	}{
		{"c2VjcmV0LXRva2VuLXZhbHVl", []Decoding{{"secret-token-value", "base64"}}},
		{"a%3Db%26c", []Decoding{{"a=b&c", "URL encoding"}}},
		{"plain.example.com", nil},
		{"", nil},
	}
	for _, tt := range tests {
		if got := Decode(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Decode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
