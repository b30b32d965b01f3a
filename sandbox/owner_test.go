package sandbox

import (
	"os"
	"os/exec"
	"testing"
)

func TestOwnedElsewhere(t *testing.T) {
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	labelsOf := func(pid int) map[string]string {
		st, err := startTime(pid)
		if err != nil {
			t.Fatal(err)
		}
		return owner{PID: pid, Start: st}.labels()
	}
	dead := labelsOf(os.Getpid())
	dead[labelOwnerStart] = "1" // this pid, another start: a dead process
	tests := []struct {
		name   string
		labels map[string]string
		want   bool
	}{
		{"this process", labelsOf(os.Getpid()), false},
		{"a child", labelsOf(child.Process.Pid), false},
		{"another live process", labelsOf(1), true},
		{"a dead owner", dead, false},
		{"no owner", map[string]string{}, false},
	}
	for _, tt := range tests {
		if got := OwnedElsewhere(tt.labels); got != tt.want {
			t.Errorf("%s: OwnedElsewhere = %v, want %v", tt.name, got, tt.want)
		}
	}
}
