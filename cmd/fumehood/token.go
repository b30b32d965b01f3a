package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/fumehood/fumehood/api"
	"github.com/fumehood/fumehood/api/ui"
	"github.com/fumehood/fumehood/store"
)

const tokenUsage = `usage: fumehood token create --role read|submit|admin --name NAME [--data DIR | --store DSN]
       fumehood token list [--data DIR | --store DSN]
       fumehood token revoke NAME [--data DIR | --store DSN]

create prints a new API token, alone on stdout, once: only its hash is stored, under a name
that list shows and revoke takes (revoking a token also ends the browser sessions signed in
with it).`

func cmdToken(ctx context.Context, e *env, args []string) (int, error) {
	fs := newFlags(e, "token")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, tokenUsage)
		fs.PrintDefaults()
	}
	data := fs.String("data", envOr("FUMEHOOD_DATA", "/var/lib/fumehood"), "data `dir` of the farm's store (FUMEHOOD_DATA)")
	dsn := fs.String("store", envOr("FUMEHOOD_STORE", ""), "store `DSN` instead of --data (sqlite://PATH or postgres://...) (FUMEHOOD_STORE, as serve and worker)")
	role := fs.String("role", "", "create: what the token may do: read, submit (and read) or admin (everything)")
	name := fs.String("name", "", "create: the token's name, unique, shown by list and taken by revoke")
	if len(args) == 0 || args[0] != "create" && args[0] != "list" && args[0] != "revoke" {
		fs.Usage()
		return 0, usagef("want the subcommand create, list or revoke")
	}
	sub := args[0]
	if err := parseFlags(fs, args[1:]); err != nil {
		return 0, err
	}
	want := map[string]int{"create": 0, "list": 0, "revoke": 1}[sub]
	if fs.NArg() != want {
		return 0, usagef("token %s takes %d arguments, got %q", sub, want, fs.Args())
	}
	if sub == "create" {
		if !api.ValidRole(store.Role(*role)) {
			return 0, usagef("--role must be read, submit or admin, not %q", *role)
		}
		if *name == "" {
			return 0, usagef("--name is required: the name list shows and revoke takes")
		}
	}
	if *dsn == "" {
		*dsn = *data
	}
	st, err := store.OpenStore(ctx, *dsn)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	switch sub {
	case "create":
		tok, hash := api.NewToken()
		err := st.CreateToken(ctx, hash, store.Role(*role), *name)
		if errors.Is(err, store.ErrExists) {
			return 0, usagef("a token named %q exists: revoke it or choose another name", *name)
		}
		if err != nil {
			return 0, fmt.Errorf("store token: %w", err)
		}
		fmt.Fprintln(e.stdout, tok)
	case "list":
		toks, err := st.Tokens(ctx)
		if err != nil {
			return 0, err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
		for _, t := range toks {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", ui.Plain(t.Name), t.Role, t.Created.Format(time.RFC3339))
		}
		return 0, tw.Flush()
	case "revoke":
		err := st.RevokeToken(ctx, fs.Arg(0))
		if errors.Is(err, store.ErrNotFound) {
			return 0, usagef("no token named %q", fs.Arg(0))
		}
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(e.stderr, "revoked %s\n", ui.Plain(fs.Arg(0)))
	}
	return 0, nil
}
