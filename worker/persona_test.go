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
	users, runs := map[string]bool{}, map[string]bool{}
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
		// the ci phase's environment: a GitHub Actions run of the
		// persona's project, every variable set to a value
		env := map[string]string{}
		for _, kv := range dev.ciEnv() {
			k, v, _ := strings.Cut(kv, "=")
			if v == "" {
				t.Errorf("ci env %q: empty", kv)
			}
			env[k] = v
		}
		org, _, _ := strings.Cut(p.Company, ".")
		if env["CI"] != "true" || env["GITHUB_ACTIONS"] != "true" || env["GITHUB_REPOSITORY"] != org+"/"+p.Project ||
			env["GITHUB_WORKSPACE"] != p.ProjectDir() || len(env["GITHUB_RUN_ID"]) != 11 {
			t.Errorf("ci env %v: not a GitHub Actions run of %s", env, p.ProjectDir())
		}
		runs[env["GITHUB_RUN_ID"]] = true
	}
	if len(users) < 10 || len(runs) < 45 {
		t.Errorf("50 draws gave %d user names and %d run ids, want a spread", len(users), len(runs))
	}
}
