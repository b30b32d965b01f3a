package worker

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fumehood/fumehood/honeytoken"
	"github.com/fumehood/fumehood/trace"
)

// TestPlantEventsCarryIdentity checks that every secret planted in a file
// has a plant event with that file's device and inode, and env secrets
// none.
func TestPlantEventsCarryIdentity(t *testing.T) {
	hostHome := t.TempDir()
	persona, err := drawPersona(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	home := persona.Home()
	hs, err := honeytoken.Generate(rand.Reader, persona.Profile("registry.test"))
	if err != nil {
		t.Fatal(err)
	}
	// Not root: the files are written, only their owner stays.
	if err := writeFiles(hostHome, hs.Files, 1854600000); err != nil && !errors.Is(err, os.ErrPermission) {
		t.Fatal(err)
	}
	var vars []string
	for _, tok := range hs.Tokens {
		if name, ok := strings.CutPrefix(tok.Where, trace.PlantEnv); ok {
			vars = append(vars, name)
		}
	}
	hostEnviron := filepath.Join(t.TempDir(), "node")
	if _, _, _, err := environ(hostEnviron, vars); err != nil {
		t.Fatal(err)
	}
	events, err := plantEvents(hs.Tokens, hostHome, home, hostEnviron, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != len(hs.Tokens)+1 || events[len(events)-1].Path != trace.PlantEnvCopy {
		t.Fatalf("got %d plant events, want %d and the copy's last", len(events), len(hs.Tokens)+1)
	}
	for _, e := range events {
		if e.Kind != trace.KindPlant {
			t.Errorf("%s: kind %s, want plant", e.Name, e.Kind)
		}
		// The registry token names the configured registry as its issuer
		// (honeytoken-own-service); no other plant names one.
		if wantIssuer := map[bool]string{true: "registry.test"}[e.Path == "env:NPM_TOKEN"]; e.Addr != wantIssuer {
			t.Errorf("%s (%s): issuer %q, want %q", e.Name, e.Path, e.Addr, wantIssuer)
		}
		file := filepath.Join(hostEnviron, "vars", strings.TrimPrefix(e.Path, trace.PlantEnv))
		if e.Path == trace.PlantEnvCopy {
			file = filepath.Join(hostEnviron, "copy")
		}
		if rel, inFile := strings.CutPrefix(e.Path, home+"/"); inFile {
			file = filepath.Join(hostHome, rel)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(file, &st); err != nil {
			t.Fatal(err)
		}
		if want := (trace.FileID{Dev: st.Dev, Ino: st.Ino}); e.File() != want || want.Ino == 0 {
			t.Errorf("%s (%s): got %d:%d, want %d:%d", e.Name, e.Path, e.Dev, e.Ino, want.Dev, want.Ino)
		}
	}
}
