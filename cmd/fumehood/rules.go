package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/fumehood/fumehood/rules"
)

func cmdRules(ctx context.Context, e *env, args []string) (int, error) {
	if len(args) == 0 || len(args) > 2 {
		return 0, usagef("usage: fumehood rules list|test [DIR]")
	}
	rs, err := rules.Default()
	if len(args) == 2 {
		rs, err = rules.Load(os.DirFS(args[1]))
	}
	if err != nil {
		return 0, usageError{err.Error()}
	}
	switch args[0] {
	case "list":
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "ID\tSEVERITY\tTECHNIQUE\tDESCRIPTION\n")
		for _, r := range rs.Rules() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Severity, r.Technique, r.Description)
		}
		fmt.Fprintf(tw, "\n%d rules, version %s\n", len(rs.Rules()), rs.Version())
		return 0, tw.Flush()
	case "test":
		failed := 0
		results := rs.Test()
		for _, r := range results {
			status := "ok  "
			if r.Err != nil || r.Got != r.Want {
				status = "FAIL"
				failed++
			}
			fmt.Fprintf(e.stdout, "%s %s/%s (want hit=%v, got %v)", status, r.Rule, r.Fixture, r.Want, r.Got)
			if r.Err != nil {
				fmt.Fprintf(e.stdout, ": %v", r.Err)
			}
			fmt.Fprintln(e.stdout)
		}
		fmt.Fprintf(e.stdout, "%d passed, %d failed\n", len(results)-failed, failed)
		if failed > 0 {
			return 1, nil
		}
		return 0, nil
	}
	return 0, usagef("unknown rules command %q: want list or test", args[0])
}
