package worker

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fumehood/fumehood/honeytoken"
	"github.com/fumehood/fumehood/trace"
)

func TestScanChanged(t *testing.T) {
	home, tmp := t.TempDir(), t.TempDir()
	tokens := []honeytoken.Token{
		{Name: "github-token", Where: "env:GITHUB_TOKEN", Value: "ghp_Zt7Kq2Wm9Lp4Xr8Nv3Bc6Hd1Jf5Gs0Ty2Ua"},
		{Name: "npm-token", Where: "/home/alex/.npmrc", Value: "npm_Q3vXk9LmP2rT8sWb4NcY7hJd1FgA6eZuKo5i"},
	}
	write := func(dir, rel, data string) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write(home, ".cache/before/env", "GITHUB_TOKEN="+tokens[0].Value) // before the phase
	time.Sleep(2 * ctimeSlack)
	since := time.Now()
	stash := write(home, ".cache/probe/probe.env", "x="+tokens[0].Value+"\n")
	write(tmp, "copy-of-npmrc", tokens[1].Value) // a file token: its read is seen by identity
	write(tmp, "notes.txt", "nothing planted here")
	write(tmp, "big.bin", strings.Repeat("a", scanFileMax+1)+tokens[0].Value) // past the per-file bound
	script := write(home, "projects/app/node_modules/pkg/probe.sh", "printf %s \"${GITHUB_TOKEN}\" > x\n")
	write(home, "projects/app/node_modules/pkg/README.md", "Set GITHUB_TOKEN to avoid rate limits.\n")
	write(home, "projects/app/node_modules/pkg/other.sh", "echo $GITHUB_TOKENS $MY_GITHUB_TOKEN\n") // other names
	// Whole-environment listings name no variable; each is a marker of
	// every token variable. Their near-misses are not.
	pkg := "projects/app/node_modules/pkg/"
	lists := []string{
		write(home, pkg+"list.sh", "export -p | node send.js\n"),
		write(home, pkg+"Makefile", "all:\n\t@echo $(foreach v,$(.VARIABLES),$(v)=$($(v)))\n"),
		write(home, pkg+"walk.c", "extern char **environ;\nint main(void) { for (char **e = environ; *e; e++) send(*e); }\n"),
		write(home, pkg+"tool", "#!/usr/bin/perl\nfor my $k (keys %ENV) { print \"$k\\n\" }\n"),
		write(home, pkg+"crc.py", "import ctypes\nenv = ctypes.POINTER(ctypes.c_char_p).in_dll(ctypes.CDLL(None), 'environ')\n"),
		write(home, pkg+"relay.py", "import os\ntable = getattr(os.environ, \"_data\", None)\n"),
		write(tmp, "build/probe", "\x7fELF\x02\x01\x01\x00getenv\x00environ\x00"),
	}
	write(home, pkg+"run.sh", "env NODE_ENV=production node x.js\n(set) 2>&1 | sed -n 's/^ac_cv_//p'\ndeclare -x FOO=bar\n")
	write(home, pkg+"index.js", "function f(env) { return env; }\nmodule.exports = (env) || {};\n")
	write(home, pkg+"prebuilt/tool", "\x7fELF\x02\x01\x01\x00environ\x00") // shipped, extracted by npm
	write(home, pkg+"conf.py", "import os\nhome = os.environ['HOME']\n")

	found := scanChanged([]scanRoot{{home, "/home/alex"}, {tmp, "/tmp"}}, since, tokens)
	got := found.stashes
	var st syscall.Stat_t
	if err := syscall.Stat(stash, &st); err != nil {
		t.Fatal(err)
	}
	want := trace.Event{Kind: trace.KindPlant, Name: "github-token", Path: "/home/alex/.cache/probe/probe.env", Dev: st.Dev, Ino: st.Ino}
	if len(got) != 1 || got[0].Kind != want.Kind || got[0].Name != want.Name || got[0].Path != want.Path || got[0].File() != want.File() || len(got[0].Data) != 0 {
		t.Fatalf("stashes = %+v, want one %+v", got, want)
	}
	if err := syscall.Stat(script, &st); err != nil {
		t.Fatal(err)
	}
	byFile := map[string]trace.Event{}
	for _, r := range found.readers {
		if r.Path != "env:GITHUB_TOKEN" || len(r.Data) != 0 {
			t.Errorf("reader %+v: want a marker of GITHUB_TOKEN without data", r)
		}
		byFile[r.Path2] = r
	}
	if r := byFile["/home/alex/"+pkg+"probe.sh"]; r.File() != (trace.FileID{Dev: st.Dev, Ino: st.Ino}) {
		t.Errorf("probe.sh: reader %+v, want one with the script's identity", r)
	}
	want2 := []string{"/home/alex/" + pkg + "probe.sh"}
	for _, l := range lists {
		if strings.HasPrefix(l, tmp) {
			want2 = append(want2, "/tmp"+strings.TrimPrefix(l, tmp))
		} else {
			want2 = append(want2, "/home/alex"+strings.TrimPrefix(l, home))
		}
	}
	slices.Sort(want2)
	got2 := slices.Sorted(maps.Keys(byFile))
	if !slices.Equal(got2, want2) {
		t.Errorf("readers of\n%s\nwant\n%s", strings.Join(got2, "\n"), strings.Join(want2, "\n"))
	}
}
