package worker

import (
	"reflect"
	"testing"

	"github.com/fumehood/fumehood/trace"
)

func TestPhaseInfo(t *testing.T) {
	events := []trace.Event{
		{Kind: trace.KindOpen, TGID: 7, Start: 70},
		{Kind: trace.KindExec, TGID: 5, Start: 50, Comm: "runc:[2:INIT]"},
		{Kind: trace.KindFork, TGID: 5, Start: 50, ChildPID: 6, ChildStart: 60},
	}
	tests := []struct {
		phase   string
		initPID int
		want    trace.PhaseInfo
	}{
		{"install", 5, trace.PhaseInfo{Name: "install", Init: trace.ProcKey{TGID: 5, Start: 50}, Command: trace.RolePackageManager}},
		{"import", 5, trace.PhaseInfo{Name: "import", Init: trace.ProcKey{TGID: 5, Start: 50}, Command: trace.RolePackageCode}},
		{"ci", 5, trace.PhaseInfo{Name: "ci", Init: trace.ProcKey{TGID: 5, Start: 50}, Command: trace.RolePackageManager}},
		{"install", 9, trace.PhaseInfo{Name: "install", Init: trace.ProcKey{TGID: 9}, Command: trace.RolePackageManager}},
		{"session", 5, trace.PhaseInfo{Name: "session", Init: trace.ProcKey{TGID: 5, Start: 50}, Command: trace.RolePackageManager, Tools: sessionTools}},
	}
	for _, tt := range tests {
		if got := phaseInfo(tt.phase, tt.initPID, events); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("phaseInfo(%s, %d) = %+v, want %+v", tt.phase, tt.initPID, got, tt.want)
		}
	}
}
