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
		code, out, errOut := runCLI(t, "token", "create", "--role", string(role), "--data", dir, "--name", "ci")
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
		{"token"}, {"token", "list"}, {"token", "create"}, {"token", "create", "--role", "root", "--data", dir},
		{"token", "create", "--role", "read", "--data", dir, "extra"},
	} {
		if code, out, _ := runCLI(t, args...); code != exitBadInput || out != "" {
			t.Errorf("%q: got %d %q, want %d and nothing on stdout", args, code, out, exitBadInput)
		}
	}
}
