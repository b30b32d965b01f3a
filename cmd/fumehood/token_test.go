package main

import (
	"context"
	"strings"
	"testing"

	"github.com/fumehood/fumehood/api"
	"github.com/fumehood/fumehood/store"
)

func TestTokenCreate(t *testing.T) {
	dir := t.TempDir()
	seen := map[string]bool{}
	for _, role := range []store.Role{store.RoleRead, store.RoleSubmit, store.RoleAdmin} {
		code, out, errOut := runCLI(t, "token", "create", "--role", string(role), "--data", dir, "--name", "ci-"+string(role))
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", role, code, errOut)
		}
		tok := strings.TrimSuffix(out, "\n")
		if strings.ContainsAny(tok, " \n\t") || !strings.HasPrefix(tok, "fh_") || len(tok) < 40 || seen[tok] {
			t.Fatalf("%s: stdout %q is not one fresh token alone", role, out)
		}
		seen[tok] = true
		st, _, err := store.Open(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Token(context.Background(), api.HashToken(tok))
		st.Close()
		if err != nil || got.Role != role {
			t.Errorf("stored role of the new token: got %q, %v; want %q", got.Role, err, role)
		}
	}
	for _, args := range [][]string{
		{"token"}, {"token", "show"}, {"token", "create"}, {"token", "create", "--role", "root", "--data", dir, "--name", "x"},
		{"token", "create", "--role", "read", "--data", dir, "--name", "x", "extra"},
		{"token", "create", "--role", "read", "--data", dir},                      // no name
		{"token", "create", "--role", "read", "--data", dir, "--name", "ci-read"}, // name taken
		{"token", "revoke", "--data", dir}, {"token", "revoke", "absent", "--data", dir}, {"token", "list", "x", "--data", dir},
	} {
		if code, out, _ := runCLI(t, args...); code != exitBadInput || out != "" {
			t.Errorf("%q: got %d %q, want %d and nothing on stdout", args, code, out, exitBadInput)
		}
	}
	code, out, errOut := runCLI(t, "token", "list", "--data", dir)
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"NAME", "ci-read    read", "ci-submit  submit", "ci-admin   admin"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "fh_") {
		t.Errorf("list shows a token:\n%s", out)
	}
	if code, _, errOut := runCLI(t, "token", "revoke", "ci-submit", "--data", dir); code != 0 {
		t.Fatalf("revoke: exit %d: %s", code, errOut)
	}
	if _, out, _ := runCLI(t, "token", "list", "--data", dir); strings.Contains(out, "ci-submit") {
		t.Errorf("a revoked token is listed:\n%s", out)
	}
}
