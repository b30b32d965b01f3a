package worker

import (
	"bytes"
	"cmp"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/fumehood/fumehood/honeytoken"
	"github.com/fumehood/fumehood/trace"
)

// A token variable a process reads natively (a shell expanding $NPM_TOKEN
// in a script file, C's getenv) is not recorded (see environ.go), but a
// stealer that stages it on disk for a later phase leaves it in a file of
// the workspace, which outlives the phase. After each phase the files the
// phase changed are searched for the planted variables' values, and each
// file holding one becomes a planted file of its own: a plant event with
// the file's identity, so that a later open of it is a credential read
// (rules: planted), whoever spells its path.

// stashBudget bounds what one phase's search reads: files changed in the
// phase are searched smallest first, so that padding the workspace with
// large files cannot push a small stash out of it.
const (
	stashBudget  = 256 << 20
	stashFileMax = 16 << 20
)

// ctimeSlack is how far a file's ctime may lag the clock: the kernel
// stamps it from a coarse clock, a tick or so behind time.Now.
const ctimeSlack = 100 * time.Millisecond

// stashRoot is a workspace directory on the host and where the sandbox
// sees it.
type stashRoot struct{ host, sandbox string }

// stashes returns a plant event for each file under roots changed since
// (by its ctime, which no process can set) that holds the value of a
// token variable of tokens, at most one per file and value.
func stashes(roots []stashRoot, since time.Time, tokens []honeytoken.Token) []trace.Event {
	var vars []honeytoken.Token
	for _, t := range tokens {
		if strings.HasPrefix(t.Where, trace.PlantEnv) && len(t.Value) >= 12 &&
			!slices.ContainsFunc(vars, func(v honeytoken.Token) bool { return v.Value == t.Value }) {
			vars = append(vars, t)
		}
	}
	if len(vars) == 0 {
		return nil
	}
	type candidate struct {
		host, sandbox string
		size          int64
		st            *syscall.Stat_t
	}
	since = since.Add(-ctimeSlack)
	var files []candidate
	for _, r := range roots {
		_ = filepath.WalkDir(r.host, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil // unreadable entries and special files hold nothing to search
			}
			info, err := d.Info()
			if err != nil {
				return nil
			}
			st, ok := info.Sys().(*syscall.Stat_t)
			if !ok || info.Size() == 0 || info.Size() > stashFileMax || time.Unix(st.Ctim.Unix()).Before(since) {
				return nil
			}
			rel, err := filepath.Rel(r.host, p)
			if err != nil {
				return nil
			}
			files = append(files, candidate{p, filepath.Join(r.sandbox, rel), info.Size(), st})
			return nil
		})
	}
	slices.SortFunc(files, func(a, b candidate) int { return cmp.Compare(a.size, b.size) })
	var events []trace.Event
	read := int64(0)
	for _, f := range files {
		if read += f.size; read > stashBudget {
			break
		}
		data, err := os.ReadFile(f.host)
		if err != nil {
			continue
		}
		for _, v := range vars {
			if bytes.Contains(data, []byte(v.Value)) {
				events = append(events, trace.Event{Time: time.Now(), Kind: trace.KindPlant, Name: v.Name, Path: f.sandbox, Dev: f.st.Dev, Ino: f.st.Ino})
			}
		}
	}
	return events
}
