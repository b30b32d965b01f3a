package worker

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/fumehood/fumehood/sandbox"
)

// TestDrawPersona checks that personas are valid accounts, consistent in
// themselves, and not all the same.
func TestDrawPersona(t *testing.T) {
	users := map[string]bool{}
	for range 50 {
		p, err := drawPersona(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		users[p.User] = true
		dev := developer{Persona: p, uid: sandbox.UIDBase}
		a := dev.account()
		if a.Name != p.User || a.Home != "/home/"+p.User || !strings.HasPrefix(a.FullName, p.FullName) {
			t.Errorf("account %+v does not name persona %+v", a, p)
		}
		if !strings.HasPrefix(p.Hostname, strings.ReplaceAll(p.User, ".", "")+"-") || !strings.HasSuffix(p.Email, "@"+p.Company) {
			t.Errorf("persona %+v: host name or email do not follow its user and company", p)
		}
		if len(p.History) == 0 || strings.Contains(strings.Join(p.History, "\n"), "{") {
			t.Errorf("history %q: empty or with an unfilled placeholder", p.History)
		}
		if !strings.HasPrefix(p.ProjectDir(), p.Home()+"/projects/") {
			t.Errorf("project %s not in the home %s", p.ProjectDir(), p.Home())
		}
	}
	if len(users) < 10 {
		t.Errorf("50 draws gave %d user names, want a spread", len(users))
	}
}
