package main

import (
	"context"
	"fmt"

	"github.com/fumehood/fumehood/api"
	"github.com/fumehood/fumehood/store"
)

func cmdToken(ctx context.Context, e *env, args []string) (int, error) {
	fs := newFlags(e, "token")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: fumehood token create --role read|submit|admin [--data DIR | --store DSN] [--name NAME]\n\nPrints a new API token, alone on stdout, once: only its hash is stored.")
		fs.PrintDefaults()
	}
	role := fs.String("role", "", "what the token may do: read, submit (and read) or admin (everything)")
	data := fs.String("data", envOr("FUMEHOOD_DATA", "/var/lib/fumehood"), "data `dir` of the farm's store (FUMEHOOD_DATA)")
	dsn := fs.String("store", "", "store `DSN` instead of --data (sqlite://PATH or postgres://...)")
	name := fs.String("name", "", "a label for the token, shown to admins")
	if len(args) == 0 || args[0] != "create" {
		fs.Usage()
		return 0, usagef("want the subcommand create")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return 0, err
	}
	if fs.NArg() != 0 {
		return 0, usagef("unexpected arguments %q", fs.Args())
	}
	if !api.ValidRole(store.Role(*role)) {
		return 0, usagef("--role must be read, submit or admin, not %q", *role)
	}
	if *dsn == "" {
		*dsn = *data
	}
	st, err := store.OpenStore(ctx, *dsn)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	tok, hash := api.NewToken()
	if err := st.CreateToken(ctx, hash, store.Role(*role), *name); err != nil {
		return 0, fmt.Errorf("store token: %w", err)
	}
	fmt.Fprintln(e.stdout, tok)
	return 0, nil
}
