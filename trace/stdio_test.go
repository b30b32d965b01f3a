package trace

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestStdioJSON(t *testing.T) {
	e := Event{Kind: KindExec, Path: "/bin/sh", Stdio: NewStdio(FDInet, FDInet, FDClosed)}
	raw, err := json.Marshal(&e)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"stdio":"inet,inet,closed"`) {
		t.Errorf("JSON %s lacks the stdio text", raw)
	}
	var back Event
	if err := json.Unmarshal(raw, &back); err != nil || back.Stdio != e.Stdio {
		t.Errorf("round trip: got %q (%v), want %q", back.Stdio, err, e.Stdio)
	}
	if got := back.Stdio.FD(1); got != FDInet {
		t.Errorf("FD(1) = %q, want inet", got)
	}
	raw, err = json.Marshal(&Event{Kind: KindExec})
	if err != nil || strings.Contains(string(raw), "stdio") {
		t.Errorf("unrecorded stdio is not left out: %s (%v)", raw, err)
	}
}

func TestStdioBadText(t *testing.T) {
	for _, s := range []string{"inet,inet", "inet,tty,pipe", ",pipe,pipe"} {
		var st Stdio
		if err := st.UnmarshalText([]byte(s)); !errors.Is(err, ErrStdio) {
			t.Errorf("%q: got error %v, want ErrStdio", s, err)
		}
	}
}
