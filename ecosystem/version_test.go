package ecosystem

import "testing"

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		eco, a, b string
		want      int
		err       bool
	}{
		{NPM, "1.2.3", "1.2.4", -1, false},
		{NPM, "1.10.0", "1.9.9", 1, false}, // numeric, not lexical
		{NPM, "2.0.0-beta.2", "2.0.0", -1, false},
		{NPM, "2.0.0-beta.10", "2.0.0-beta.2", 1, false},
		{NPM, "1.0.0+build.1", "1.0.0", 0, false},
		{NPM, "1.0", "1.0.0", 0, true}, // not SemVer
		{PyPI, "1.0", "1.0.0", 0, false},
		{PyPI, "1.0rc1", "1.0", -1, false},
		{PyPI, "1.0.post1", "1.0", 1, false},
		{PyPI, "1.10", "1.9", 1, false},
		{PyPI, "not a version", "1.0", 0, true},
		{"cargo", "1.0.0", "1.0.1", 0, true},
	}
	for _, tt := range tests {
		got, err := CompareVersions(tt.eco, tt.a, tt.b)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("CompareVersions(%s, %s, %s) = %d, %v; want %d, error %v", tt.eco, tt.a, tt.b, got, err, tt.want, tt.err)
		}
	}
}
