package honeytoken

import (
	"crypto/rand"
	"regexp"
	"strings"
	"testing"
)

var profile = Profile{User: "alex", FullName: "Alex Morgan", Email: "alex.morgan@corp.internal", Home: "/home/alex", Hostname: "alex-xps13", NPMRegistryHost: "registry.test", GitHost: "git.corp.internal"}

func TestGenerateShapes(t *testing.T) {
	s, err := Generate(rand.Reader, profile)
	if err != nil {
		t.Fatal(err)
	}
	shapes := map[string]*regexp.Regexp{
		"npm-token":             regexp.MustCompile(`^npm_[A-Za-z0-9]{36}$`),
		"github-token":          regexp.MustCompile(`^ghp_[A-Za-z0-9]{36}$`),
		"aws-access-key-id":     regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`),
		"aws-secret-access-key": regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`),
		"ssh-private-key":       regexp.MustCompile(`^-----BEGIN RSA PRIVATE KEY-----\n`),
	}
	seen := map[string]bool{}
	for _, tok := range s.Tokens {
		if re, ok := shapes[tok.Name]; ok {
			seen[tok.Name] = true
			if !re.MatchString(tok.Value) {
				t.Errorf("%s = %q, want shape %s", tok.Name, tok.Value, re)
			}
		}
		if strings.Contains(tok.Value, "EXAMPLE") {
			t.Errorf("%s uses a documentation example value: %q", tok.Name, tok.Value)
		}
	}
	for name := range shapes {
		if !seen[name] {
			t.Errorf("no %s planted", name)
		}
	}
	files := map[string]string{}
	for _, f := range s.Files {
		files[f.Path] = string(f.Data)
	}
	for _, want := range []string{".npmrc", ".pypirc", ".ssh/id_rsa", ".ssh/known_hosts", ".aws/credentials", ".docker/config.json", ".kube/config", ".gitconfig", ".git-credentials"} {
		if _, ok := files[want]; !ok {
			t.Errorf("file %s not planted", want)
		}
	}
	if got := files[".npmrc"]; !strings.HasPrefix(got, "//registry.test/:_authToken=npm_") {
		t.Errorf(".npmrc = %q, want an auth line for the configured registry", got)
	}
	// Every file token appears in its file; every env token in the env.
	env := strings.Join(s.Env, "\n")
	for _, tok := range s.Tokens {
		if strings.HasPrefix(tok.Where, "env:") {
			if !strings.Contains(env, tok.Value) {
				t.Errorf("%s not in env", tok.Name)
			}
			continue
		}
		rel := strings.TrimPrefix(tok.Where, profile.Home+"/")
		if !strings.Contains(files[rel], tok.Value) {
			t.Errorf("%s not in %s", tok.Name, rel)
		}
	}
}

// TestEveryFileSecretIsAToken checks that a file holding a secret value
// has a Token of its own: reads of it are known by the file's identity.
func TestEveryFileSecretIsAToken(t *testing.T) {
	s, err := Generate(rand.Reader, profile)
	if err != nil {
		t.Fatal(err)
	}
	where := map[[2]string]bool{}
	for _, tok := range s.Tokens {
		where[[2]string{tok.Value, tok.Where}] = true
	}
	for _, f := range s.Files {
		for _, tok := range s.Tokens {
			at := profile.Home + "/" + f.Path
			if strings.Contains(string(f.Data), tok.Value) && !where[[2]string{tok.Value, at}] {
				t.Errorf("%s holds %s but no token names it", f.Path, tok.Name)
			}
		}
	}
}

func TestGenerateFresh(t *testing.T) {
	a, err := Generate(rand.Reader, profile)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(rand.Reader, profile)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Tokens {
		if a.Tokens[i].Value == b.Tokens[i].Value {
			t.Errorf("%s repeated across analyses", a.Tokens[i].Name)
		}
	}
}

func TestNoSandboxMarkers(t *testing.T) {
	s, err := Generate(rand.Reader, profile)
	if err != nil {
		t.Fatal(err)
	}
	marker := regexp.MustCompile(`(?i)honey|decoy|canary|sandbox|fumehood|analy`)
	for _, f := range s.Files {
		if marker.MatchString(f.Path) || marker.Match(f.Data) {
			t.Errorf("file %s names the trap", f.Path)
		}
	}
	for _, e := range s.Env {
		if marker.MatchString(e) {
			t.Errorf("env %q names the trap", e)
		}
	}
}
