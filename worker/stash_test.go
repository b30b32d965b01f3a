package worker

import (
	"os"
	"path/filepath"
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
	readers := found.readers
	if len(readers) != 1 || readers[0].Path != "env:GITHUB_TOKEN" || readers[0].Path2 != "/home/alex/projects/app/node_modules/pkg/probe.sh" ||
		readers[0].File() != (trace.FileID{Dev: st.Dev, Ino: st.Ino}) || len(readers[0].Data) != 0 {
		t.Fatalf("readers = %+v, want one for probe.sh", readers)
	}
}
