package rules

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/fumehood/fumehood/trace"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		s, pattern string
		want       bool
	}{
		{"/home/alex/.npmrc", "~/.npmrc", true},
		{"/root/.npmrc", "~/.npmrc", true},
		{"/home/alex/projects/app/.npmrc", "~/.npmrc", false},
		{"/home/alex/.ssh/id_ed25519", "~/.ssh/id_*", true},
		{"/home/alex/.ssh/keys/id_rsa", "~/.ssh/id_*", false},
		{"/home/alex/.config/gcloud/legacy/adc.json", "~/.config/gcloud/**", true},
		{"/home/alex/.config/google-chrome/Default/Login Data", "**/Login Data", true},
		{"/home/alex/.config/google-chrome/Default/Login Data-journal", "**/Login Data", false},
		{"/sys/class/dmi/id/product_name", "/sys/class/dmi/id/*", true},
		{"/etc/cron.d/job", "/etc/cron*/**", true},
		{"/etc/crontab", "/etc/cron?ab", true},
		{"/home", "~/.npmrc", false},
	}
	for _, tt := range tests {
		if got := glob(tt.s, tt.pattern); got != tt.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tt.s, tt.pattern, got, tt.want)
		}
	}
}

func TestDecoded(t *testing.T) {
	env := `{"HOME":"/home/alex","PATH":"/usr/bin"}`
	b64 := base64.StdEncoding.EncodeToString([]byte(env))
	tests := []struct {
		name, in, contains string
	}{
		{"base64 in a path", "/hacked/" + b64, `"HOME"`},
		{"base64 after a form key", "d=" + b64, `"PATH"`},
		{"url-safe base64", base64.RawURLEncoding.EncodeToString([]byte(env + "??>>")), `"HOME"`},
		{"hex", "q=" + hex.EncodeToString([]byte(env)), `"HOME"`},
		{"truncated mid-quantum", "/h/" + b64[:len(b64)-2], `"HOME"`},
		{"three layers", base64.StdEncoding.EncodeToString([]byte(base64.StdEncoding.EncodeToString([]byte(b64)))), `"HOME"`},
	}
	for _, tt := range tests {
		if got := decoded(tt.in); !strings.Contains(got, tt.contains) {
			t.Errorf("%s: Decoded(%q) = %q, want it to contain %q", tt.name, tt.in, got, tt.contains)
		}
	}
	if got := decoded("/v1/download/pkg-1.2.3.tgz"); got != "" {
		t.Errorf("Decoded of a plain path = %q, want empty", got)
	}
}

func TestNameHelpers(t *testing.T) {
	if got, want := domain("a.b.Example.org."), "example.org"; got != want {
		t.Errorf("Domain = %q, want %q", got, want)
	}
	if got, want := longestLabel("abc.defgh.io"), 5; got != want {
		t.Errorf("LongestLabel = %d, want %d", got, want)
	}
	if got, want := longestRun("x=deadbeef00;", "hex"), 10; got != want {
		t.Errorf("LongestRun hex = %d, want %d", got, want)
	}
	if got, want := entropy("aaaa"), 0.0; got != want {
		t.Errorf("Entropy(aaaa) = %v, want %v", got, want)
	}
	if got := entropy("0123456789abcdef"); got != 4 {
		t.Errorf("Entropy of 16 distinct bytes = %v, want 4", got)
	}
	for s, want := range map[string]bool{"203.0.113.8": true, "203.0.113.8:8000": true, "[2001:db8::1]:443": true, "2001:db8::1": true, "example.invalid": false} {
		if got := isIP(s); got != want {
			t.Errorf("IsIP(%q) = %v, want %v", s, got, want)
		}
	}
	if got, want := base("/usr/bin/node"), "node"; got != want {
		t.Errorf("Base = %q, want %q", got, want)
	}
}

func FuzzDecoded(f *testing.F) {
	f.Add("/hacked/eyJIT01FIjoiL2hvbWUvYWxleCJ9")
	f.Add("d=" + strings.Repeat("QUFB", 40) + "==")
	f.Add(strings.Repeat("ab", 100))
	f.Add(strings.Repeat("/"+base64.StdEncoding.EncodeToString([]byte(strings.Repeat("/QUFB", 20))), 50))
	f.Fuzz(func(t *testing.T, s string) {
		if got := decoded(s); len(got) > maxDecoded {
			t.Errorf("decoded(%d bytes) returned %d bytes, want at most %d", len(s), len(got), maxDecoded)
		}
	})
}

func TestFillExecStdio(t *testing.T) {
	var env Env
	env.fill(&trace.Event{Kind: trace.KindExec, Path: "/tmp/update-check", Path2: "/usr/bin/dash",
		Stdio: trace.NewStdio(trace.FDUnix, trace.FDInet, trace.FDClosed)})
	if env.Binary != "/usr/bin/dash" || env.Path2 != "" {
		t.Errorf("exec: binary %q path2 %q, want /usr/bin/dash and none", env.Binary, env.Path2)
	}
	if env.Stdin != "unix" || env.Stdout != "inet" || env.Stderr != "closed" || !env.NetStdio {
		t.Errorf("exec: stdio %q %q %q net %v, want unix inet closed and net", env.Stdin, env.Stdout, env.Stderr, env.NetStdio)
	}
	env.fill(&trace.Event{Kind: trace.KindRename, Path: "/a", Path2: "/b"})
	if env.Binary != "" || env.Path2 != "/b" || env.Stdin != "" || env.NetStdio {
		t.Errorf("rename: binary %q path2 %q stdin %q net %v, want only path2 /b", env.Binary, env.Path2, env.Stdin, env.NetStdio)
	}
}

func TestLongestRunValue(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"/imagemin/pngquant-bin/v9.0.0/vendor/linux/x64/pngquant", 3},
		{"/node-pre-gyp-github-release-download-asset-v20", 3},
		{"/applicationconfigurationdownloads", 0},
		{"/v1/q3Vx9LmP2rT8sWb4NcY7hJd1FgA6eZuKo5iR0tYw/x.png", 40},
		{"/p?id=9f3a0c7d21b84e6f5a9c0d3e7b1f2a48&v=1", 32},
		{"/p?d=%A3%5F%00%9B%7Ex", 16},
		{"/12345678901234567890123456789", 0},
		// bits in letter case; camelCase, acronyms and capitals carry none
		{"/schemas/v1/sCHemaDefINItionsForCOnfIGUrAtionExpanSIoNanDVAlIdAtiONHinTS.json", 60},
		{"/api/getLatestReleaseInfoForRepositoryOwner", 0},
		{"/XMLHttpRequestURLParserConfigurationDefaults", 0},
		{"/SCREAMINGCONSTANTNAMESAREWORDS", 0},
	}
	for _, tt := range tests {
		if got := longestRun(tt.s, "value"); got != tt.want {
			t.Errorf("longestRun(%q, value) = %d, want %d", tt.s, got, tt.want)
		}
	}
}
